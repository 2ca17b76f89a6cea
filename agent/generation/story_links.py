"""Which stories feed each other: one story's outcome is another's precondition, because the same
record, state or document flows from the one to the other. End-to-end journeys are built only over
these links (agent/generation/planning.py), and each journey case states them.

The rules read any project's wording, not a list of its nouns:
- A story *produces* a record or document when one of its outcomes introduces it with an indefinite
  article beside a verb that creates or hands it over ("a Case of type "Move In" is created", "a
  service order is sent to the distributor"), or when its summary is an action that makes one
  ("Set up a payment plan"). Refusals produce nothing ("a plan ... cannot be saved").
- A story *produces a state* when an outcome sets it on a thing ("the caller is verified", "the
  plan appears ... with status Active"), or its summary is such an action ("Verify a caller's
  identity": the caller, verified).
- A story *needs* a record when it refers to it as already there: a definite mention ("the Move In
  case", "the service order") in its criteria or its "I want" sentence, of something it does not
  introduce itself. It *needs a state* when its words require it ("only after the caller is
  verified", "the verified account holder", "an Active plan").
- Screen elements (panel, button, page, tab ...) are no records, and people (caller, customer,
  agent ...) link only through a state: "the customer" in two stories is not a flow.
- REST stories: a POST on a resource produces it and the other methods on the same resource need
  it; a PUT or PATCH changes it for a later GET or DELETE.
When two stories would feed each other both ways, the earlier one in the epic is the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.generation.phrasing import clean, clauses, is_negative, mask_quotes, shorten, split_behaviour, unmask
from agent.models import Flow, FlowLink, Story

_WORD = r"[A-Za-z][\w'-]*"
_STOP = set("""a an the this that these those its their his her your my our no any each every some of to for in on
at by from with without via into onto over under about as and or but is are was were be been being has have had
can cannot could may might must shall should will would do does did not only when if after before once while
until unless than then so which who whose where there it they he she we you i also just all both either other
same such own more most less least very too up out off new existing""".split())
# verbs that make or hand over a record or document, as verbs (never the nouns 'request', 'referral')
_MAKES = re.compile(r"\b(?:(?:creat|sav|rais|issu|generat|schedul|stor|approv|plac|charg|produc|captur|lodg|fil|"
                    r"us)(?:es|ed)|(?:add|record|register|book|open|grant|assign|link|upload|request|post|enter|print|"
                    r"deliver|list|log)(?:s|ged|ed)|(?:attach|publish|dispatch)(?:es|ed)|appl(?:ies|ied)|sends|sent|"
                    r"emails|emailed|submit(?:s|ted)|sets up|set up|ship(?:s|ped)|refer(?:s|red))\b", re.I)
_PARTICIPLE_OF = {"sends": "sent", "sets up": "set up", "submits": "submitted", "ships": "shipped", "refers": "referred",
                  "applies": "applied", "logs": "logged"}
# states a record or a person can be put in
_STATES = ("verified|approved|granted|confirmed|activated|active|closed|cancell?ed|completed|paid|locked|unlocked|"
           "registered|accepted|submitted|assigned|suspended|paused|resolved|enrolled|connected|disconnected|"
           "signed|authori[sz]ed|authenticated|validated|shipped|delivered|booked|referred|reset|rejected|declined|"
           "expired|renewed|published|archived|escalated|pending")
_NOT = re.compile(r"\b(?:not|never|cannot|can't|won't|isn't|aren't|doesn't)\b", re.I)
_STATE_WORD = re.compile(rf"\b(?:{_STATES})\b", re.I)
# words that name a screen element: no record flows through them
_SCREEN = {"panel", "button", "page", "tab", "screen", "field", "picklist", "form", "banner", "tooltip", "dialog",
           "dialogue", "menu", "window", "modal", "popup", "badge", "link", "action", "step", "flow", "message",
           "error", "prompt", "option", "view", "console", "icon", "column", "table", "section", "list", "checkbox",
           "toggle", "label", "text", "picker", "wizard", "card"} - {"card"}
_PEOPLE = {"customer", "caller", "agent", "user", "person", "holder", "member", "leader", "specialist", "analyst",
           "admin", "administrator", "manager", "tester", "client", "consumer", "staff", "employee", "team", "owner",
           "applicant", "partner", "visitor", "buyer", "seller", "patient", "student", "someone", "anyone"}
# one word alone names too little to be the same record in two stories
_VAGUE = {"account", "case", "record", "request", "item", "detail", "details", "information", "data", "date",
          "amount", "number", "value", "reason", "result", "status", "time", "day", "change", "update", "entry",
          "system", "service", "process", "one", "type", "name", "address", "limit", "balance", "fee", "code"}
_IMPERATIVE = {"create", "add", "set", "register", "record", "grant", "approve", "verify", "apply", "open", "raise",
               "book", "request", "submit", "issue", "close", "cancel", "lock", "unlock", "reset", "refer", "assign",
               "enrol", "enroll", "schedule", "confirm", "activate", "connect", "pay", "upload", "send", "place",
               "publish", "file", "lodge", "generate", "capture", "authorise", "authorize", "sign"}
_IRREGULAR = {"set": "set", "reset": "reset", "send": "sent", "pay": "paid", "sign": "signed", "refer": "referred",
              "submit": "submitted", "enrol": "enrolled", "lock": "locked", "unlock": "unlocked"}
# actions on a thing that also say something of its owner ('Verify a caller's identity': the caller, verified)
_OWNER_STATES = {"verify", "authenticate", "authorise", "authorize", "approve", "register", "enrol", "enroll",
                 "confirm", "validate"}
_RESOURCE_METHODS = {"POST": 0, "PUT": 1, "PATCH": 1, "GET": 2, "DELETE": 3}


@dataclass(frozen=True)
class Mention:
    """A record, document or state a story's words name: what (as written), its key (the words
    that make two mentions one thing), the state or verb, and where."""

    what: str
    key: tuple[str, ...]
    verb: str
    criterion_id: str | None
    text: str
    state: bool = False


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _key(words: str) -> tuple[str, ...]:
    """The words that make two mentions one thing: lower case, the last one singular, without the
    small words (a capitalised one is part of a name: 'Move In case')."""
    parts = [w.lower() for w in re.split(r"[\s-]+", words.replace("'s", "")) if w and w not in _STOP]
    return tuple(parts[:-1] + [_singular(parts[-1])]) if parts else ()


def _noun_phrase(text: str) -> str:
    """The noun phrase at the start of `text` ('Move In case with status ...' -> 'Move In case')."""
    words: list[str] = []
    for raw in text.split():
        bare = raw.strip(",.;:()")
        if not re.fullmatch(_WORD, bare) or bare in _STOP or (words and _looks_verb(bare)):
            break
        words.append(bare)
        if bare != raw or len(words) == 4:
            break
    return " ".join(words)


_NOUN_ENDINGS_OK = {"details", "address", "access", "business", "status", "process", "records", "persons", "cases"}


def _looks_verb(word: str) -> bool:
    """'shows', 'appears', 'listed', 'confirming' after a noun are its verb, not more of the noun."""
    low = word.lower()
    if word != low or low in _NOUN_ENDINGS_OK:
        return False
    return low.endswith(("ed", "ing", "ies")) or low in {
        "shows", "appears", "becomes", "stays", "remains", "returns", "opens", "moves", "changes", "gets", "goes",
        "asks", "offers", "starts", "runs", "has", "needs", "contains", "includes", "holds", "sends", "lists"}


def _typed(text: str) -> str:
    """'a Case of type "Move In"' -> 'a Move In Case' (the type names the record)."""
    return re.sub(r"\b([A-Za-z]+) of type [\"“]([^\"”]+)[\"”]", lambda m: f"{m.group(2)} {m.group(1).lower()}", text)


def _is_record(key: tuple[str, ...]) -> bool:
    if not key or key[-1] in _SCREEN or key[-1] in _PEOPLE:
        return False
    return len(key) >= 2 or key[0] not in _VAGUE


def _participle(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if v.endswith("e"):
        return v + "d"
    if re.search(r"[^aeiou]y$", v):
        return v[:-1] + "ied"
    return v + "ed"


def _outcome_texts(story: Story) -> list[tuple[str | None, str]]:
    """Each criterion's outcomes: its Then lines, or each clause without its condition."""
    out: list[tuple[str | None, str]] = []
    for c in story.criteria:
        if c.vague:
            continue
        if c.style == "gherkin" and c.then:
            out += [(c.id, clean(p)) for p in c.then if p.strip()]
        else:
            out += [(c.id, split_behaviour(p).outcome) for p in clauses(c.text) if p.strip()]
    return out


def _want(story: Story) -> str:
    m = re.search(r"\bI (?:want|need|would like)\b(.+?)(?:\bso that\b|[.\n]|$)", story.description or "", re.I)
    return m.group(1).strip() if m else ""


def produced(story: Story) -> list[Mention]:
    """The records, documents and states the story's outcomes (and its summary) produce."""
    out: list[Mention] = []
    positive = False
    for cid, text in _outcome_texts(story):
        if is_negative(text) or _NOT.search(mask_quotes(text)[0]):
            continue
        positive = True
        masked, quotes = mask_quotes(_typed(text))
        for m in re.finditer(rf"\b(?:creat|add|generat|issu|produc|rais)\w*\s+(?:the|its|their)\s+", masked, re.I):
            what = _noun_phrase(masked[m.end():])  # 'the flow adds the security deposit': its own too
            if what and _is_record(_key(what)):
                out.append(Mention(what, _key(what), _verb_of(masked, m.start(), m.end()), cid, unmask(text, quotes)))
        if _MAKES.search(masked):
            for m in re.finditer(r"\b(?:a|an)\s+(?:new\s+)?", masked):
                what = _noun_phrase(masked[m.end():])
                key = _key(what)
                if what and "\x00" not in what and _is_record(key):
                    out.append(Mention(what, key, _verb_of(masked, m.start(), m.end() + len(what)), cid,
                                       unmask(text, quotes)))
        for m in re.finditer(rf"\bthe\s+({_WORD}(?:\s+{_WORD}){{0,3}}?)\s+(?:is|are|becomes|gets)\s+(?:now\s+)?"
                             rf"({_STATES})\b", masked, re.I):
            what = _noun_phrase(m.group(1))
            if what:
                out.append(Mention(what, _key(what), m.group(2).lower(), cid, unmask(text, quotes), state=True))
        for m in re.finditer(rf"\b(?:the|a|an)\s+(?:new\s+)?({_WORD}(?:\s+{_WORD}){{0,3}}?)\s+(?:is|are|appears|stays)\b"
                             r"[^,;\x00]*?\bwith status\s+([A-Z]\w+)", masked):
            what = _noun_phrase(m.group(1))
            if what and m.group(2).lower() not in _STOP:
                out.append(Mention(what, _key(what), m.group(2).lower(), cid, unmask(text, quotes), state=True))
    m = re.match(rf"^({_WORD})(?:\s+(up|in|out))?\s+(?:a|an|the)\s+(?:({_WORD})'s\s+)?(.+)$", clean(story.summary))
    if m and positive and m.group(1).lower() in _IMPERATIVE:  # a story that only refuses makes nothing
        verb = _participle(m.group(1)) + (f" {m.group(2)}" if m.group(2) else "")
        what = _noun_phrase(m.group(4))
        if what and _is_record(_key(what)):
            out.append(Mention(what, _key(what), verb, None, story.summary))
        owner = m.group(3) if m.group(1).lower() in _OWNER_STATES else None
        for thing in (owner, what):
            if thing and _STATE_WORD.fullmatch(_participle(m.group(1))):
                out.append(Mention(thing, _key(thing), _participle(m.group(1)), None, story.summary, state=True))
    return out


def _verb_of(masked: str, start: int, end: int) -> str:
    """The verb that makes the thing named at masked[start:end]: one in its own part of a list, else
    the last one before it ('a Person Account is created ..., a Move In Case with status ...')."""
    segment = re.split(r"[,;]", masked[end:], maxsplit=1)[0]
    m = _MAKES.search(segment)
    if not m:
        before = list(_MAKES.finditer(masked[:start]))
        m = before[-1] if before else _MAKES.search(masked)
    word = m.group(0).lower() if m else "produced"
    if word in _PARTICIPLE_OF:
        return _PARTICIPLE_OF[word]
    if word.endswith(("ed", "sent", "set up")):
        return word
    return _participle(re.sub(r"(?<=[cgsvz])es$|(?<=[^s])s$", "", word).rstrip("e") + ("e" if re.search(r"[cgsvz]es$", word) else ""))


def _need_texts(story: Story) -> list[tuple[str | None, str]]:
    texts = [(c.id, c.text) for c in story.criteria if not c.vague]
    want = _want(story)
    return texts + ([(None, want)] if want else [])


def _masked_need_texts(story: Story) -> list[tuple[str | None, str, Any]]:
    """The story's need texts as `needs` searches them: (criterion id, typed text with quotes masked, quotes)."""
    return [(cid, *mask_quotes(_typed(text))) for cid, text in _need_texts(story)]


def needs(story: Story, mention: Mention, made: list[Mention] | None = None,
          texts: list[tuple[str | None, str, Any]] | None = None) -> tuple[str | None, str] | None:
    """Where `story` needs the record or state `mention` names: (criterion id, its words), or None.
    `made` and `texts`: `produced(story)` and `_masked_need_texts(story)`, when the caller has them
    already (find_links reads each story once, not once per pair)."""
    own = {m.key for m in (produced(story) if made is None else made) if not m.state}
    if not mention.state and mention.key in own:
        return None  # the story makes its own
    head = r"[\s-]+".join(re.escape(w) + ("s?" if i == len(mention.key) - 1 else "")
                          for i, w in enumerate(mention.key))
    for cid, masked, quotes in (_masked_need_texts(story) if texts is None else texts):
        if mention.state:
            state = re.escape(mention.verb)
            near = (rf"\b{state}\s+(?:{_WORD}\s+)?{head}\b|\b{head}(?:'s)?\s+(?:\w+\s+)?(?:is|are|has been|have been|"
                    rf"was|were|gets|got)\s+(?:\w+\s+)?{state}\b")
            if re.search(near, masked, re.I):
                return cid, unmask(_sentence_with(masked, near), quotes)
        elif re.search(rf"\b(?:the|its|their|that)\s+(?:{_WORD}\s+)?{head}\b", masked, re.I):
            return cid, unmask(_sentence_with(masked, rf"\b{head}\b"), quotes)
    return None


def _sentence_with(text: str, pattern: str) -> str:
    """The clause of `text` where `pattern` is found, for the link's statement."""
    for part in re.split(r"(?<=[.;])\s+|\n+", text):
        if re.search(pattern, part, re.I):
            return clean(re.sub(r"^(?:Scenario(?: Outline)?:|Given|When|Then|And|But)\s+", "", part.strip(), flags=re.I))
    return clean(text).split("\n")[0]


def _statement(source: str, target: str, m: Mention, need: str) -> str:
    need = shorten(" ".join(need.split()).rstrip("."), 140)
    if m.state:
        return f"The {m.what} {m.verb} in {source} is the one {target} starts from: \"{need}\"."
    return f"The {m.what} {m.verb} in {source} is the one {target} works on: \"{need}\"."


def _resource(story: Story) -> str:
    return re.sub(r"/\{[^}]+\}", "", story.endpoint or "").rstrip("/")


def _rest_links(stories: list[Story]) -> list[FlowLink]:
    """POST makes the resource every other method on it needs; PUT or PATCH changes it for a later
    GET or DELETE."""
    out: list[FlowLink] = []
    api = [s for s in stories if s.endpoint and s.method]
    for s in api:
        for t in api:
            if s.key == t.key or _resource(s) != _resource(t):
                continue
            rank_s, rank_t = _RESOURCE_METHODS.get(s.method or "", 9), _RESOURCE_METHODS.get(t.method or "", 9)
            if s.method == "POST" and rank_t > 0 or s.method in {"PUT", "PATCH"} and rank_t > 1:
                noun = _singular(_resource(s).rsplit("/", 1)[-1] or "resource")
                verb = "created" if s.method == "POST" else "changed"
                out.append(FlowLink(source=s.key, target=t.key, what=noun, statement=(
                    f"The {noun} {verb} in {s.key} ({s.method} {s.endpoint}) is the one {t.key} works on "
                    f"({t.method} {t.endpoint}).")))
    return out


def find_links(stories: list[Story]) -> list[FlowLink]:
    """Every pair of the epic's stories where one's outcome is the other's precondition, with the
    record, state or document that flows between them; at most one link per ordered pair."""
    usable = [s for s in stories if s.criteria and not all(c.vague for c in s.criteria)]
    if any(s.endpoint and s.method for s in usable):
        return _rest_links(usable)
    order = {s.key: n for n, s in enumerate(usable)}
    found: dict[tuple[str, str], FlowLink] = {}
    made = {s.key: produced(s) for s in usable}  # each story read once, not once per pair
    texts = {s.key: _masked_need_texts(s) for s in usable}
    for a in usable:
        # the most specific first ('Sales Order' before the summary's 'order'), criteria before the summary
        for m in sorted(made[a.key], key=lambda m: (m.criterion_id is None, -len(m.key))):
            for b in usable:
                if b.key == a.key or (a.key, b.key) in found:
                    continue
                need = needs(b, m, made[b.key], texts[b.key])
                if need:
                    found[(a.key, b.key)] = FlowLink(source=a.key, target=b.key,
                                                     what=f"{m.what} {m.verb}" if m.state else m.what,
                                                     statement=_statement(a.key, b.key, m, need[1]),
                                                     source_criterion=m.criterion_id or "",
                                                     target_criterion=need[0] or "")
    # both ways: the earlier story in the epic is the source
    return [link for (s, t), link in found.items() if not ((t, s) in found and order[t] < order[s])]


def journeys(stories: list[Story], links: list[FlowLink], max_len: int = 4) -> list[Flow]:
    """Flows over the links: each starts at a story whose outcome feeds another, and takes in, in
    the epic's order, every story fed by one already in it (up to max_len); every link is used once."""
    order = {s.key: n for n, s in enumerate(stories)}
    links = sorted((lk for lk in links if lk.source in order and lk.target in order),
                   key=lambda lk: (order[lk.source], order[lk.target]))
    used: set[tuple[str, str]] = set()
    flows: list[Flow] = []
    for first in links:
        if (first.source, first.target) in used:
            continue
        keys, legs = [first.source], []
        grew = True
        while grew and len(keys) < max_len:
            grew = False
            for lk in links:
                if lk.source in keys and lk.target not in keys and (lk.source, lk.target) not in used:
                    keys.append(lk.target)
                    legs.append(lk)
                    used.add((lk.source, lk.target))
                    grew = True
                    break
        if len(keys) < 2:
            continue
        whats = list(dict.fromkeys(lk.what for lk in legs))
        flows.append(Flow(name=" and ".join(whats[:2]), story_keys=keys, links=legs,
                          rationale="; ".join(f"{lk.source} -> {lk.target}: {lk.what}" for lk in legs)))
    return flows


def checked_flows(flows: list[Flow], stories: list[Story]) -> tuple[list[Flow], list[str]]:
    """A planned flow (a model's, say) kept only where every story after the first starts from
    what an earlier one produced: the link it states, or else the one the rules find. Returns
    (flows kept, with their links; one line per flow dropped, saying why)."""
    found: dict[tuple[str, str], FlowLink] | None = None

    def rules() -> dict[tuple[str, str], FlowLink]:  # found only when a flow leaves a link unstated
        nonlocal found
        if found is None:
            found = {(lk.source, lk.target): lk for lk in find_links(stories)}
        return found

    kept, dropped = [], []
    for flow in flows:
        given = {(lk.source, lk.target): lk for lk in flow.links if lk.statement.strip()}
        legs, missing = [], []
        for n, key in enumerate(flow.story_keys[1:], start=1):
            earlier = flow.story_keys[:n]
            lk = next((given[(e, key)] for e in earlier if (e, key) in given), None) \
                or next((rules()[(e, key)] for e in earlier if (e, key) in rules()), None)
            (legs.append(lk) if lk else missing.append(key))
        if missing or len(flow.story_keys) < 2:
            dropped.append(f"{flow.name} ({' -> '.join(flow.story_keys)}): no record, state or document of an "
                           f"earlier story's outcome is named as the starting point of {', '.join(missing) or 'it'}")
            continue
        kept.append(flow.model_copy(update={"links": legs}))
    return kept, dropped

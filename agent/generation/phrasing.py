"""Turning requirement sentences into tester language: split a criterion into its condition and
its observable outcome, and restate modal requirements ("must display") as expected results
("displays").

The rewording rules are English. A criterion in another language (told by
:func:`agent.intake.language.language_of`) keeps its own words: it is neither split at English
conjunctions nor restated, lower-cased or re-punctuated, so the case quotes it as written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.intake.language import ends_sentence, language_of
from agent.intake.lexicon import VAGUENESS

_MODALS = r"(?:must|should|shall|will|is expected to|are expected to|needs to|need to|has to|have to)"
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes", "can": "can"}
_NEGATIVE = re.compile(
    r"\b(?:error|invalid|reject\w*|declin\w*|den(?:y|ied|ies)|cannot|can't|must not|"
    r"should not|shall not|not (?:be )?(?:allowed|permitted|able)|block\w*|prevent\w*|fail\w*|lock\w*|"
    r"unauthori[sz]ed|forbidden|not found|missing|malformed|exceed\w*|refus\w*|disallow\w*|warning)\b",
    re.I,
)
_CONDITION_LEAD = re.compile(r"^(?:if|when|whenever|where|once|after|given|for|unless|in case)\b\s*(.+?),\s*(.+)$", re.I)
# 'time out after 30 seconds': a duration after 'after'/'once' is part of the outcome, not its condition
_CONDITION_TAIL = re.compile(r"^(.+?)\s+\b(if|when|whenever|where|once(?!\s+\d)|after(?!\s+(?:\d|an?\s+(?:hour|minute|"
                             r"second|day|week|month|year)\b))|unless|in case|provided that)\b\s+(.+)$", re.I)


@dataclass
class Behaviour:
    condition: str
    outcome: str
    negative: bool
    conj: str = "when"
    """The word that introduced the condition (when, after, once, before...), for titles."""

    @property
    def phrase(self) -> str:
        """'<outcome> <conj> <condition>' as a title fragment."""
        out = declarative(self.outcome).rstrip(".")
        if language_of(out, default="") != "en":
            return out  # lower-case the first word only when the text is known to be English
        out = out[0].lower() + out[1:] if out[:2] != out[:2].upper() else out
        if not self.condition:
            return out
        conj = "when" if self.conj in {"if", "whenever", "where", "given", "in case", "provided that"} else self.conj
        return f"{out} {conj} {clean(self.condition).rstrip('.')}"


def english(text: str) -> bool:
    """Whether the English rewording rules apply to this text."""
    return language_of(text) == "en"


def clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    text = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", text)
    return text.strip()


def sentence(text: str) -> str:
    text = clean(text)
    if ends_sentence(text) and not text.endswith("."):
        return text[0].upper() + text[1:]  # 。 ！ ？ । ؟ end it already
    text = text.rstrip(".;: ")
    if not text:
        return text
    return text[0].upper() + text[1:] + "."


_ERROR_STATUS = re.compile(
    r"\b(?:status(?:\s+code)?|http|code|respon(?:d|ds|ded|se)\s+with|returns?|answers?)\b[^.$]{0,25}?(?<![$,.\d])\b[45]\d\d\b"
    r"|\b[45]\d\d\s+(?:bad request|unauthori[sz]ed|forbidden|not found|conflict|error|internal|service unavailable)",
    re.I)


def error_status(text: str) -> bool:
    """Whether the text names an HTTP 4xx/5xx status as a status."""
    return bool(_ERROR_STATUS.search(text or ""))


def is_negative(text: str) -> bool:
    """An error path: an HTTP 4xx/5xx status (named as a status), or words of refusal and failure."""
    lang = language_of(text or "")
    if lang in VAGUENESS:
        return bool(VAGUENESS[lang].negative.search(text))
    return bool(_NEGATIVE.search(text or "") or _ERROR_STATUS.search(text or ""))


def third_person(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def declarative(text: str, subject: str = "the system") -> str:
    """'must display a banner' -> 'displays a banner'; 'Respond with 400' -> 'The API responds with 400'."""
    if not english(text):
        return sentence(text)
    t = clean(text).rstrip(".")
    t = re.sub(r"^(?:then|and|but)\s+", "", t, flags=re.I)
    t = re.sub(r"^if successful,?\s*", "", t, flags=re.I)
    # "X will be Y" / "X must be Y" -> "X is Y"
    t = re.sub(rf"\b{_MODALS}\s+not\s+be\b", "is not", t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+be\b", "is", t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+not\s+(\w+)", lambda m: "does not " + m.group(1), t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+(\w+)", lambda m: third_person(m.group(1)), t, flags=re.I)
    t = re.sub(r"\bis able to\b", "can", t, flags=re.I)
    t = re.sub(r"^Produces:\s*", "The response content type is ", t, flags=re.I)
    first = t.split(" ", 1)[0].lower() if t else ""
    if first in {"returns", "responds", "displays", "shows", "sends", "creates", "updates", "rejects"}:
        t = f"{subject} {t[0].lower()}{t[1:]}"  # 'Returns 404' -> 'the API returns 404
    elif first in {"return", "respond", "display", "show", "send", "create", "update", "reject", "record",
                   "set", "raise", "log", "notify", "prompt", "block", "allow", "prevent", "save"}:
        rest = t.split(" ", 1)[1] if " " in t else ""
        t = f"{subject} {third_person(first)} {rest}".strip()
    return sentence(t)


_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')
_STRONG_VERB = re.compile(
    r"\b(?:shows?|displays?|returns?|sends?|creates?|offers?|appears?|opens?|stays?|remains?|becomes?|"
    r"defaults?|prompts?|blocks?|rejects?|asks?|moves?|changes?|is (?:shown|saved|created|set|sent|displayed|"
    r"disabled|enabled|rejected|blocked|updated|closed|assigned|offered|not)|are (?:shown|saved|created|listed|"
    r"not)|must|should|cannot|can't|will)\b", re.I)
_SUBJECT = re.compile(r"\b(?:the|a|an|no|its|it|this|each|every)\b", re.I)


def _split_unpunctuated(body: str) -> tuple[str, str] | None:
    """'the balance is above the limit the action shows X' -> ('the balance is above the limit', 'the action shows X')."""
    for m in _STRONG_VERB.finditer(body):
        if m.start() < 8:
            continue
        window_start = max(0, m.start() - 45)
        subjects = [s.start() + window_start for s in _SUBJECT.finditer(body[window_start:m.start()])]
        subjects = [p for p in subjects if p > 5]
        if subjects:
            cut = subjects[-1] if len(body[subjects[-1]:m.start()].split()) <= 5 else subjects[0]
            return body[:cut], body[cut:]
    return None


def mask_quotes(text: str) -> tuple[str, list[str]]:
    """Replace quoted messages by placeholders so that their words never drive parsing."""
    quotes: list[str] = []

    def keep(m: re.Match) -> str:
        quotes.append(m.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    return _QUOTED.sub(keep, text), quotes


def unmask(text: str, quotes: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], text)


def clauses(text: str) -> list[str]:
    """A criterion's clauses, split at semicolons outside quoted text."""
    masked, quotes = mask_quotes(clean(text))
    return [unmask(p, quotes).strip() for p in masked.split(";") if p.strip()]


def split_behaviour(text: str) -> Behaviour:
    """Split one criterion sentence into (condition, outcome); quoted messages are never split."""
    if not english(text):
        return Behaviour(condition="", outcome=clean(text), negative=is_negative(text))
    masked, quotes = mask_quotes(clean(text).rstrip("."))
    condition, outcome, conj = "", masked, "when"
    first = masked.split(" ", 1)[0].lower() if masked else ""
    m = _CONDITION_LEAD.match(masked)
    if m and not re.match(r"^if successful", masked, re.I):
        condition, outcome, conj = m.group(1), m.group(2), first
    elif re.match(r"^(?:if|when|whenever|once|after)\s", masked, re.I) and not re.match(r"^if successful", masked, re.I):
        split = _split_unpunctuated(re.sub(r"^\w+\s+", "", masked))
        if split:
            (condition, outcome), conj = split, first
    else:
        m = _CONDITION_TAIL.match(masked)
        if m and len(m.group(1).split()) >= 2:
            outcome, condition, conj = m.group(1), f"{m.group(3)}", m.group(2).lower()
    return Behaviour(condition=unmask(condition.strip(" ,"), quotes), outcome=unmask(outcome.strip(" ,"), quotes),
                     negative=is_negative(masked), conj=conj)


_ACTOR = re.compile(r"^(?:the\s+)?(?P<actor>agent|customer|team leader|user|caller|hardship specialist|specialist|"
                    r"administrator|admin|tester|account holder)\s+(?P<verb>[a-z]+s)\b(?P<rest>.*)$", re.I)


def actor_action(text: str) -> str | None:
    """'The Agent enters the move-out date' -> 'Enter the move-out date' (None when not actor-led)."""
    m = _ACTOR.match(clean(text).rstrip("."))
    if not m or m.group("verb").lower() in {"is", "has", "does", "was"}:
        return None
    verb = m.group("verb")
    if re.search(r"(?:sses|shes|ches|xes|zes)$", verb.lower()):
        base = verb[:-2]
    elif verb.lower().endswith("ies"):
        base = verb[:-3] + "y"
    else:
        base = verb[:-1]
    return sentence(base + m.group("rest"))


def behaviour_phrase(text: str) -> str:
    """The behaviour under test, for a title: 'Verify that <this>'."""
    if not english(text):
        return clean(text)
    t = clean(text).rstrip(".")
    t = re.sub(r"^(?:if successful,?\s*)", "", t, flags=re.I)
    t = re.sub(r"^(?:given|when|then)\s+", "", t, flags=re.I)
    t = declarative(t).rstrip(".")
    return re.sub(r"^(The|A|An|This|Its|Each|Every|No) ", lambda m: m.group(1).lower() + " ", t)


def short(text: str, limit: int = 90) -> str:
    t = clean(text)
    return t if len(t) <= limit else t[: limit - 1].rsplit(" ", 1)[0] + "…"


def imperative(text: str) -> str:
    """'Selects a new due date' -> 'Select a new due date' (a step whose subject was dropped)."""
    t = clean(text)
    m = re.match(r"^([A-Z][a-z]+)(\b.*)$", t)
    if not m or not m.group(1).endswith("s") or m.group(1).lower() in {"is", "has", "does", "was", "this", "its"}:
        return t
    return actor_action(f"The user {m.group(1).lower()}{m.group(2)}") or t


_STATUS_WORDS = re.compile(r"\b(?:an? )?(?:HTTP )?status code (?:of )?(\d{3})\b", re.I)
_CLAUSE_BREAK = re.compile(r",\s+|;\s+|\s+(?=(?:when|if|where|and|with|for|because|so that|which|that|unless|"
                           r"while|by|via|using|including|after|before|whose|who|to|from|on|in|at|during|without|or)\s)")
_DANGLING = re.compile(r"(?:\s+(?:the|a|an|of|and|or|to|with|for|in|on|at|by|when|if|that|which|who|whose|is|are|"
                       r"as|from|only|also|just|even|then|so|be|been|being|not|cannot|can|has|have|had|does|do|must|should|will|"
                       r"more|less|than|shows?|gets?|confirming|saying|stating|showing|telling|asking|including|containing|naming|"
                       r"giving|reading))+$", re.I)
# what introduces a quotation that was left out: 'is rejected with the message'
_QUOTE_LEAD = re.compile(r"\s+(?:with|showing|saying|reading)?\s*(?:the|a|an)?\s*(?:message|error|warning|text|banner|"
                         r"tooltip|label|prompt)$", re.I)
# a leading adverbial before the subject: 'With less than the required notice the flow shows ...'
_LEADING = re.compile(r"^(?:with|without|after|before|on|upon|for|in|at|during)\s[^,;\x00]{3,60}?\s"
                      r"(?=(?:the|a|an|its|their)\s(?:[\w'-]+\s){0,3}?(?:is|are|can|cannot|must|[a-z]+s)\b)", re.I)
_FUNCTION = (r"(?:the|a|an|of|and|or|but|to|with|for|in|on|at|by|from|via|when|if|that|which|who|whose|is|are|was|"
             r"were|be|been|can|cannot|does|do|has|have|must|should|will|not|only|after|before|while|unless|until|"
             r"than|as|so|its|their|this|these|those|each|every|no|shows?|displays?|returns?|sends?|creates?|opens?|"
             r"appears?|stays?|remains?|becomes?|asks?|offers?|gets?|adds?|receives?|sees?)")
_NP_WORD = rf"(?!{_FUNCTION}\b)[\w'*/-]+"
_DET = r"(?:the|a|an|its|their|this|each|every|your|my|his|her)"
_NP = (rf"{_NP_WORD}(?: {_NP_WORD}){{0,4}}(?: of (?:{_DET} )?{_NP_WORD}(?: {_NP_WORD}){{0,3}})*"
       rf"(?: and (?!{_DET}\b){_NP_WORD}(?: {_NP_WORD}){{0,3}}| and {_DET} {_NP_WORD}(?: {_NP_WORD}){{0,3}}(?=[,;.]|$))?")
# a place or a screen location ('from the Authorised Persons related list', 'on the console home tab',
# 'in the billing system of the tenant'), then any other qualifier ('with the instalment schedule',
# 'to the account email address', 'on hardship'); none right after a form of 'be' ('is in the past')
# or before the relative clause that belongs to its noun ('by a caller that is not registered')
_NOT_AFTER = r"(?<!\bis)(?<!\bare)(?<!\bbe)(?<!\bwas)(?<!\bnot)(?<!\bwere)(?<!\bbeen)"
# the whole noun phrase, and not the first item of a list
_AFTER_PHRASE = rf"(?=[;.]|,(?=\s+(?:and|or|but)\b)|\s(?!(?:that|which|who|whose)\b|\x00|{_NP_WORD})|$)"
_PLACE = re.compile(rf"{_NOT_AFTER}\s+(?:from|on|in|at|via|using|through|inside) {_DET} {_NP}{_AFTER_PHRASE}")
_QUALIFIER = re.compile(rf"{_NOT_AFTER}\s+(?:(?:with|for|of|from|on|in|during|about|under|into|by)(?: {_DET})?"
                        rf"|(?:to|at) {_DET}) {_NP}{_AFTER_PHRASE}")
_FINITE = re.compile(r"\b(?:is|are|was|were|can|cannot|can't|does|do|did|has|have|had|must|should|will|may|"
                     r"shows?|returns?|responds?|stays?|remains?|becomes?|appears?|opens?|sends?|creates?|gets?)\b|"
                     r"(?<=[a-z] )(?<!\bthe )(?<!\ban )(?<!\ba )(?!(?:its|this|was|has|does|is|as|us|yes|plus|status|always|sometimes|access|"
                     r"address|business|less|process|success|details|persons|items|types|days|weeks|months|years|"
                     r"hours|minutes|records|cases|bills|plans|extensions)\b)[a-z]{2,}(?:es|s|ed)\b", re.I)


def _complete(head: str) -> bool:
    """Whether a shortened wording still says something: a finite verb of its own (not only the one
    of a relative clause: 'a card holder name that does not match the account holder' says
    nothing yet), and no dangling word at its end."""
    if _DANGLING.search(head) or re.search(r"\bbetween\s+\S+$", head, re.I):
        return False  # nor half of a range ('between 12' of 'between 12 and 64 characters')
    rel = re.search(r"\b(?:that|which|who|whose)\b", head)
    if rel and not _FINITE.search(head[:rel.start()]):
        return len([m for m in _FINITE.finditer(head[rel.end():]) if not m.group(0).endswith("ed")]) >= 2
    return bool(_FINITE.search(head))


def shorten(text: str, limit: int) -> str:
    """A complete, shorter wording of a title, never cut mid-phrase with an ellipsis. In order, until
    it fits: parenthetical asides dropped, 'HTTP status code 400' said as '400', filler adverbs
    dropped, places and screen locations dropped ('from the Authorised Persons related list'),
    then trailing clauses and qualifiers one at a time, each only while what is left keeps its
    verb. Quoted text is never cut inside. Only when one clause alone is too long are its last
    words left out."""
    t = clean(text)
    if len(t) <= limit:
        return t
    masked, quotes = mask_quotes(t)

    def fits(s: str) -> bool:
        return len(unmask(s, quotes)) <= limit

    steps = (lambda s: re.sub(r"\s*\([^()]*\)", "", s),
             lambda s: _STATUS_WORDS.sub(r"\1", s),
             lambda s: re.sub(r"\b(?:successfully|correctly|properly|appropriately|accordingly)\s*", "", s, flags=re.I))
    for step in steps:
        masked = re.sub(r"\s{2,}", " ", step(masked)).strip()
        if fits(masked):
            return unmask(masked, quotes)
    for pattern in (_PLACE, _QUALIFIER):  # rightmost first, while the sentence keeps its verb
        while True:
            spans = [m for m in pattern.finditer(masked) if not re.search(r"\d|\x00", m.group(0))]
            cut = next((m for m in reversed(spans) if _complete(masked[:m.start()] + masked[m.end():])), None)
            if cut is None:
                break
            masked = masked[:cut.start()] + masked[cut.end():]
            if fits(masked):
                return unmask(masked, quotes)
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(masked) if m.start() >= 12]
    heads = [_DANGLING.sub("", masked[:cut].rstrip(" ,;:")) for cut in reversed(breaks)]
    for head in heads:
        if fits(head) and _complete(head):
            return unmask(head, quotes)
    words, head = masked.split(" "), ""
    for word in words:  # one clause too long alone: its last words go, a quote stays whole or goes
        if not fits(f"{head} {word}".strip()):
            break
        head = f"{head} {word}".strip()
    if len(head) < len(masked) and masked[len(head):].lstrip().startswith("\x00"):
        head = _QUOTE_LEAD.sub("", head)  # the quotation did not fit: nor does what introduces it
    head = _DANGLING.sub("", head).rstrip(" ,;:")
    if _complete(head):
        return unmask(head, quotes)
    if quotes:  # a quoted message too long to keep: said as 'a message' (or left out after 'the message')
        said = re.sub(r"(\b(?:the|a|an)\s+(?:message|error|warning|text|banner|tooltip|label|prompt))\s+\x00\d+\x00",
                      r"\1", masked)
        said = _QUOTE_LEAD.sub("", said.rstrip(" ."))  # '... rejected with the message' at the end: '... rejected'
        return shorten(re.sub(r"\x00\d+\x00", "a message", said), limit)
    lead = _LEADING.match(masked)
    if lead:  # the condition in front goes before the sentence is cut
        return shorten(masked[lead.end():], limit)
    return head


_SELF_SUBJECT = re.compile(r"^(?:the|this|that) (?:endpoint|api|service|operation|resource|call)\s+|^it\s+", re.I)
_VERB_LEAD = re.compile(r"^(?:[a-z]+(?<!s)s|is|has|does|can|cannot|must|should|will)\s+"
                        r"(?=\d|[A-Z]{2}|(?:the|a|an|no|only|at|up|within|with|in|to|under|by|from|all|its|their|"
                        r"every|each|on|for|more|less|fewer|an?)\b)|^(?:returns|responds|answers|accepts|allows|"
                        r"rejects|refuses|lists|creates|updates|deletes|revokes|gives|sends|stays|times out)\b")
_REQUESTS_SUBJECT = re.compile(r"^(?:requests|calls|responses)\s+(?=[a-z])", re.I)


def endpoint_behaviour(method: str, endpoint: str, outcome: str, condition: str = "", conj: str = "when") -> str:
    """One sentence about an endpoint: 'GET /x responds within 300 ms', never 'GET /x the endpoint
    responds' or 'GET /x Returns 404'. An outcome about the endpoint itself (its verb, 'the
    endpoint ...', 'it ...') takes the endpoint as its subject; requests take it as their object
    ('requests to GET /x time out after 30 seconds'); any other subject keeps its own sentence
    and names the endpoint after it ('the thumbnail is generated within 2 seconds for POST /x')."""
    call = f"{method} {endpoint}".strip()
    o = clean(outcome).rstrip(".")
    o = re.sub(r"^the API\s+", "", o)
    if call and o.lower().startswith(call.lower()):
        o = o[len(call):].strip()
    elif endpoint and o.lower().startswith(endpoint.lower()):
        o = o[len(endpoint):].strip()
    o = _SELF_SUBJECT.sub("", o)
    first = o.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        o = first.lower() + o[len(first):]  # 'Returns 404' after the endpoint is 'returns 404'
    m = _REQUESTS_SUBJECT.match(o)
    if m:
        text = f"{m.group(0).strip()} to {call} {o[m.end():]}"
    elif _VERB_LEAD.match(o):
        text = f"{call} {o}"
    else:
        text = f"{o} for {call}"
    if condition:
        conj = "when" if conj in {"if", "whenever", "where", "given", "in case", "provided that"} else conj
        text += f" {conj} {clean(condition).rstrip('.')}"
    return text


_CELL = re.compile(r"^\s*[^:;]{1,40}:\s*(.+?)\s*$")


def criterion_sentence(c) -> str:
    """The words a criterion's titles are made of. A table row without a condition or result
    column ("Rule: Idle session ends; Limit: after 15 minutes") reads as its cells in order
    ("Idle session ends after 15 minutes"), not as its column names; any other criterion as written."""
    if getattr(c, "style", "") != "table" or c.when or c.then:
        return c.text
    cells = [m.group(1) for m in (_CELL.match(p) for p in clauses(c.text)) if m]
    return " ".join(x.rstrip(".") for x in cells) if cells else c.text


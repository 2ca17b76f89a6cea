"""Acceptance criteria: find them in a story, give each a stable id, and judge whether they can be tested.

How criteria are found
----------------------
The text is first converted to structured plain text (``connectors.markup.to_text``: wiki markup,
ADF and XHTML become ``## Heading`` lines, ``- item`` / ``1. item`` lists and ``a | b`` rows).
It is then read line by line, tracking the heading each line sits under. Headings are Markdown
``#`` lines, wiki ``h3.`` lines, lines that are wholly bold (``*Rules*``, ``**Rules**``), short
plain lines ending in ``:`` and a few well-known section names on their own (``Acceptance
Criteria``). A heading is *criteria-ish* when it names acceptance criteria or scenarios, success
or error scenarios, business rules, validation, edge cases and the like; it is *not criteria*
when it names the request, parameters, notes, background, scope and so on. A heading that is
neither inherits from the criteria-ish heading it is nested under.

* From the dedicated AC field (``from_field=True``) the whole text is criteria (only request and
  parameter sections are left out).
* From a description, only criteria-ish sections count. When the description has none (or they
  hold nothing), Given/When/Then scenarios anywhere are taken; failing those, rule sentences
  anywhere ("must", "should", "shall", "cannot", "is required", "only ... if" ...), never the
  "As a ..., I want ..." story sentence.

Inside a section: a Given/When/Then block is one criterion per ``Scenario:`` (or per
Given..Then group when there are no scenario lines; ``And``/``But`` extend the previous keyword,
``Background:`` steps are prepended to each scenario's givens). A run of keyword lines only counts
as Gherkin when it has a ``Scenario`` line or a ``Then``; otherwise it is read as ordinary lines.
Each bullet or numbered item is one criterion; nested items and wrapped lines fold into their
parent. A paragraph is one criterion (``prose``), or one per sentence when it holds rule sentences
(``rule``). Table rows after the header row are one criterion each.

Ids are ``STORY-KEY/AC-n``, n counting from 1 in document order, so they stay stable as long as
the criteria before a criterion do not change.

Vagueness
---------
Per criterion (:func:`assess_criterion`):

* **outcome** - a ``Then`` step, or (for other styles) a verb or noun of result: returns,
  responds with, displays, shows, sends, a status code, an error, a message, "is created /
  updated / saved / rejected ...", "will contain", "produces", a stated constraint ("cannot",
  "must be", "at most") and the like. When the criterion splits into a condition and a result
  ("X if Y", "If Y, X", "When Y ..."), the result part is searched, plus result verbs used as
  statements anywhere ("the console shows", "is saved"; not "attempts to block"), so "When an
  error condition occurs." has a condition but no outcome.
* **condition** - Given/When steps, or if / when / given / after / before / once / unless / only,
  or "for"/"with" followed by a described thing ("with an invalid card").
* **subjective** - words like "user friendly", "works well", "fast", "intuitive",
  "appropriate", "properly", "as expected", "without crashing" with no measurable value (a number
  or a quoted literal; values given only as "e.g." examples do not count).

A criterion is ``vague`` when it has no observable outcome, or when its wording is subjective
without a measurable value. A missing condition alone is reported but does not make a criterion
vague: "The confirmation email is sent." is testable after the story's action, while "When a
user attempts to retrieve tags successfully." gives a tester nothing to check.

Per story (:func:`assess_story`), judging the ticket as a whole:

* ``no-criteria`` (error) - nothing was found.
* ``vague-criteria`` (warning) - at least half of the criteria are vague, OR at least two of these
  gaps hold: only one or two criteria; no error or negative scenario (invalid input, not found,
  rejected, 4xx...); no criterion that pairs a condition with its expected result; the story names
  a REST endpoint but none of its inputs (parameters or request body). The message lists the gaps
  and what to add.
* ``vague-criterion`` (info) - one per vague criterion, naming what it lacks.

On the LAJ-Gherkin development slice this flags all 30 vague tickets (101-130) and none of the 30
well-written ones (1-30): a lone "The API should respond with a 200 status code." is an outcome,
but a ticket made only of that and "When a user attempts ... successfully." has two criteria, no
error path, no condition-outcome pair and no inputs.

LAJ-style API tickets
---------------------
The "HTTP Request", "Path/Query/Header/Form Parameters" and "Request Body" sections are not
criteria; :func:`parse_parameters` turns them into :class:`~agent.models.Parameter` objects and
:func:`parse_endpoint` reads ``GET {{baseUrl}}/1.0/kb/...`` (or a ``[GET /1.0/...]`` title) into a
``(method, path)`` pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.models import AcceptanceCriterion, Finding, Parameter
from connectors.markup import to_text

__all__ = [
    "parse_criteria",
    "parse_parameters",
    "parse_endpoint",
    "assess_criterion",
    "assess_story",
    "extract",
]

# --------------------------------------------------------------------------- headings and sections

_AC_HEADING = re.compile(
    r"\b(acceptance|criteri(a|on)|scenarios?|business rules?|rules|validations?|edge cases?|boundar(y|ies)"
    r"|happy path|unhappy path|negative (cases?|paths?|flows?|tests?)|error (handling|cases?|conditions?|paths?)"
    r"|alternat(e|ive) (flows?|paths?)|exception (flows?|paths?)|conditions of satisfaction"
    r"|expected (results?|behaviou?rs?|outcomes?)|success criteria|test (cases|scenarios)|constraints)\b",
    re.I,
)
_REQUEST_HEADING = re.compile(
    r"^(http request|request|endpoint|request body|body|response body|parameters|request parameters"
    r"|(path|query|header|form|cookie|body|request|url) param(eter)?s?)$",
    re.I,
)
_NON_AC_HEADING = re.compile(
    r"^(other notes|notes?|background|context|description|summary|user story|story|out of scope|non[- ]goals?"
    r"|dependencies|assumptions|technical notes|implementation notes|dev notes|open questions|questions|design"
    r"|mock-?ups?|links?|attachments?|references?|examples?|overview|purpose|goals?|objectives?|definitions?"
    r"|definition of done|dod|tasks?|sub-?tasks?|risks?|glossary|scope|in scope)$",
    re.I,
)
_GHERKIN_KW = re.compile(
    r"^(Feature|Background|Scenario Outline|Scenario Template|Scenario|Example|Examples|Scenarios|Rule|Given|When|Then|And|But)\b\s*:?",
)
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_WIKI_HEADING = re.compile(r"^\s*h([1-6])\.\s+(.+?)\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__|\*|_)([^*_]+?)\1\s*:?\s*$")
_COLON_LINE = re.compile(r"^([A-Z][^.!?:|`]{0,70}?)\s*:\s*$")
_BULLET = re.compile(r"^(\s*)([-*+\u2022\u2023\u25e6\u25aa\u00b7]|\d{1,3}[.)]|\(\d{1,3}\)|[a-h]\))\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")

AC, NON, REQ, UNKNOWN = "ac", "non", "request", "unknown"


def _norm_title(title: str) -> str:
    t = re.sub(r"[*_`]+", "", title).strip()
    return t.rstrip(":").strip()


def _classify(title: str) -> str:
    t = _norm_title(title)
    if _REQUEST_HEADING.match(t):
        return REQ
    if _NON_AC_HEADING.match(t):
        return NON
    if _AC_HEADING.search(t):
        return AC
    return UNKNOWN


def _heading(line: str) -> tuple[int | None, str] | None:
    """(level or None for level-less headings, title) when the line is a heading."""
    if not line.strip() or _BULLET.match(line):
        return None
    m = _MD_HEADING.match(line)
    if m:
        return len(m.group(1)), _norm_title(m.group(2))
    m = _WIKI_HEADING.match(line)
    if m:
        return int(m.group(1)), _norm_title(m.group(2))
    if line[:1].isspace():
        return None
    stripped = line.strip()
    if _GHERKIN_KW.match(stripped):
        return None
    m = _BOLD_LINE.match(stripped)
    if m and len(m.group(2).split()) <= 10:
        return None, _norm_title(m.group(2))
    m = _COLON_LINE.match(stripped)
    if m and len(m.group(1).split()) <= 6:
        return None, _norm_title(m.group(1))
    if len(stripped.split()) <= 5 and not stripped.endswith((".", "!", "?")) and _classify(stripped) in (AC, REQ):
        if re.fullmatch(r"[A-Z][A-Za-z /&()-]+", stripped):
            return None, _norm_title(stripped)
    return None


@dataclass
class _Line:
    text: str
    kind: str  # effective kind of the section the line is in
    section: str


@dataclass
class _Frame:
    level: int | None
    kind: str
    title: str


def _sectioned(text: str, base_kind: str) -> tuple[list[_Line], bool]:
    """Every non-heading line with its effective section kind and title; and whether any AC heading exists."""
    stack: list[_Frame] = []
    out: list[_Line] = []
    saw_ac = False
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            out.append(_Line(line, _effective(stack, base_kind), stack[-1].title if stack else ""))
            continue
        h = None if in_code else _heading(line)
        if h is None:
            out.append(_Line(line, _effective(stack, base_kind), stack[-1].title if stack else ""))
            continue
        level, title = h
        kind = _classify(title)
        if kind == AC:
            saw_ac = True
        if level is not None:
            while stack and (stack[-1].level is None or stack[-1].level >= level):
                stack.pop()
        elif kind == UNKNOWN:
            while stack and stack[-1].level is None and stack[-1].kind == UNKNOWN:
                stack.pop()
        else:
            while stack and stack[-1].level is None:
                stack.pop()
        stack.append(_Frame(level, kind, title))
        out.append(_Line("", _effective(stack, base_kind), title))  # a heading ends the paragraph before it
    return out, saw_ac


def _effective(stack: list[_Frame], base_kind: str) -> str:
    for frame in reversed(stack):
        if frame.kind != UNKNOWN:
            return frame.kind
    return base_kind


# --------------------------------------------------------------------------- cleaning

_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|incl|no|min|max|cf)\.", re.I)


def _clean(s: str) -> str:
    s = re.sub(r"\[([^\]\n]+)\]\(([^)\n]+)\)", r"\1 (\2)", s)
    s = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", s)
    s = s.replace("`", "")
    return re.sub(r"[ \t]+", " ", s).strip()


def _sentences(para: str) -> list[str]:
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x01"), para)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", protected)
    return [p.replace("\x01", ".").strip() for p in parts if p.strip()]


_RULE = re.compile(
    r"\b(must|should|shall|cannot|can ?not|can't|may not|mustn't|shouldn't|(is|are) (required|mandatory|not allowed|not permitted|prohibited)"
    r"|only\b.+\b(if|when|after|before|for|with)|will not|won't|is limited to|at (least|most)|no (more|less|later|earlier) than)\b",
    re.I,
)
_USER_STORY = re.compile(r"^\s*(as an?|as the|in order to)\b.*\b(i want|i need|i should|i can|i would|so that|to be able)\b", re.I)


def _is_rule(sentence: str) -> bool:
    return bool(_RULE.search(sentence)) and not _USER_STORY.match(sentence)


# --------------------------------------------------------------------------- condition / outcome split

_LEAD_COND = re.compile(r"^(?:if|when|whenever|once|after|given(?: that)?|upon|on|in case)\s+(.+?),\s*(?:then\s+)?(.+)$", re.I)
_TRAIL_COND = re.compile(r"^(.+?)\s+(if|when|whenever|unless|once|after|provided(?: that)?|in case)\s+(.+)$", re.I)
_ONLY_COND = re.compile(r"^(?:if|when|whenever|once|after|given(?: that)?|upon|in case)\s+(.+)$", re.I)


_INLINE_GWT = re.compile(r"^\s*given\s+(.+?),?\s+when\s+(.+?),?\s+then\s+(.+?)\.?$", re.I)


def _split_condition(text: str) -> tuple[list[str], list[str]]:
    """(when, then) for a one-line criterion such as 'X if Y', 'If Y, X' or 'When Y.'"""
    flat = " ".join(text.split())
    m = _LEAD_COND.match(flat)
    if m:
        return [m.group(1).strip()], [m.group(2).strip()]
    m = _TRAIL_COND.match(flat)
    if m and len(m.group(1).split()) >= 2:
        cond = m.group(3).strip()
        if m.group(2).lower() == "unless":
            cond = "unless " + cond
        return [cond], [m.group(1).strip()]
    m = _ONLY_COND.match(flat)
    if m:
        cond = m.group(1).strip()
        # "When X the console shows Y": cut before the subject of the first result verb
        v = _RESULT_VERB.search(cond)
        if v:
            head = cond[: v.start()]
            subj = list(re.finditer(r"\b(the|a|an|it|they|no|this|that|their|its|his|her)\b", head, re.I))
            if subj and len(head[: subj[-1].start()].split()) >= 2:
                cut = subj[-1].start()
                return [cond[:cut].strip()], [cond[cut:].strip()]
        return [cond], []
    return [], []


# --------------------------------------------------------------------------- items in a section


@dataclass
class _Item:
    style: str
    section: str
    lines: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)
    then: list[str] = field(default_factory=list)
    indent: int = 0


def _gherkin_keyword(line: str) -> tuple[str, str] | None:
    body = line.strip()
    bm = _BULLET.match(line)
    if bm and not bm.group(2)[0].isdigit():
        body = bm.group(3).strip()
    body = _clean(body)
    m = re.match(r"^(Scenario Outline|Scenario Template|Scenario|Background|Examples|Example)\s*:\s*(.*)$", body)
    if m:
        kw = m.group(1)
        if kw == "Example" and not m.group(2).strip():
            return None
        return kw, body
    m = re.match(r"^(Given|When|Then|And|But)\s+(.*)$", body)
    if m:
        return m.group(1), body
    return None


def _gherkin_runs(lines: list[_Line]) -> list[tuple[int, int]]:
    """Index ranges [start, end) of keyword-line runs that really are Gherkin."""
    runs: list[tuple[int, int]] = []
    i = 0
    n = len(lines)
    while i < n:
        if _gherkin_keyword(lines[i].text) is None:
            i += 1
            continue
        start = i
        end = i
        j = i
        while j < n:
            t = lines[j].text
            if _gherkin_keyword(t) is not None or t.strip().startswith("|") or t.strip().startswith(('"""', "@")):
                end = j + 1
                j += 1
                continue
            if not t.strip():
                j += 1
                continue
            # a plain line right after a step continues that step (wrapped text)
            if end == j and t[:1].isspace():
                end = j + 1
                j += 1
                continue
            break
        kws = [k[0] for k in (_gherkin_keyword(lines[x].text) for x in range(start, end)) if k]
        if any(k.startswith("Scenario") or k == "Example" for k in kws) or ("Then" in kws and any(k in ("Given", "When") for k in kws)):
            runs.append((start, end))
        i = max(end, start + 1)
    return runs


def _parse_gherkin(lines: list[_Line]) -> list[_Item]:
    items: list[_Item] = []
    background: list[str] = []
    cur: _Item | None = None
    mode: str | None = None  # "background" or "scenario"
    last = "given"
    for ln in lines:
        raw = ln.text
        if not raw.strip():
            continue
        kw = _gherkin_keyword(raw)
        if kw is None:
            if cur is not None:
                cur.lines.append(_clean(raw))
            continue
        word, body = kw
        if word == "Background":
            mode, cur = "background", None
            continue
        if word.startswith("Scenario") or word == "Example":
            cur = _Item("gherkin", ln.section, [body], given=list(background))
            items.append(cur)
            mode, last = "scenario", "given"
            continue
        if word == "Examples":
            if cur is not None:
                cur.lines.append(body)
            continue
        step = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
        if mode == "background":
            background.append(step)
            continue
        key = word.lower()
        if key in ("and", "but"):
            key = last
        titled = cur is not None and bool(cur.lines) and cur.lines[0].startswith(("Scenario", "Example"))
        if cur is None or (key in ("given", "when") and cur.then and not titled):
            # without Scenario lines, a Given/When after a Then starts the next criterion
            cur = _Item("gherkin", ln.section, [], given=list(background))
            items.append(cur)
        getattr(cur, key).append(step)
        cur.lines.append(body)
        last = key
    return [it for it in items if it.lines]


def _parse_plain(lines: list[_Line], *, rules_only: bool = False) -> list[_Item]:
    """Bullets, numbered items, table rows and paragraphs of one stretch of non-Gherkin lines."""
    items: list[_Item] = []
    cur: _Item | None = None
    para: list[str] = []
    para_section = ""
    table_rows = 0
    in_code = False

    def end_para() -> None:
        nonlocal para
        if para:
            text = " ".join(_clean(p) for p in para)
            sents = _sentences(text)
            rule_sents = [s for s in sents if _is_rule(s)]
            if rules_only:
                items.extend(_Item("rule", para_section, [s]) for s in rule_sents)
            elif len(sents) > 1 and rule_sents:
                items.extend(_Item("rule" if _is_rule(s) else "prose", para_section, [s]) for s in sents)
            elif not _USER_STORY.match(text):
                items.append(_Item("rule" if rule_sents else "prose", para_section, [text]))
        para = []

    for ln in lines:
        raw = ln.text
        if _FENCE.match(raw):
            in_code = not in_code
            continue
        if in_code:
            if cur is not None and not rules_only:
                cur.lines.append(raw.rstrip())
            continue
        if not raw.strip():
            end_para()
            cur = None
            table_rows = 0
            continue
        bm = _BULLET.match(raw)
        if bm:
            end_para()
            indent = len(bm.group(1).expandtabs(4))
            text = _clean(bm.group(3))
            if not text:
                continue
            if rules_only:
                if _is_rule(text):
                    items.append(_Item("rule", ln.section, [text]))
                cur = None
                continue
            if cur is not None and indent > cur.indent and items and items[-1] is cur:
                cur.lines.append("  " * max(1, (indent - cur.indent + 1) // 2) + "- " + text)
                continue
            style = "numbered" if bm.group(2)[0].isdigit() or bm.group(2).startswith("(") or bm.group(2)[0].isalpha() else "bullet"
            cur = _Item(style, ln.section, [text], indent=indent)
            items.append(cur)
            continue
        if "|" in raw and raw.count("|") >= 1 and not rules_only and re.match(r"^\s*\|?[^|]+(\|[^|]*)+\|?\s*$", raw):
            end_para()
            cur = None
            table_rows += 1
            if table_rows > 1 and not re.fullmatch(r"[\s|:\-]+", raw):
                cells = [c.strip() for c in raw.strip().strip("|").split("|")]
                items.append(_Item("prose", ln.section, [" | ".join(_clean(c) for c in cells)]))
            continue
        if cur is not None and not para:
            # a wrapped line continues the item above it
            cur.lines[-1] = cur.lines[-1] + " " + _clean(raw)
            continue
        if para and para[-1].rstrip().endswith((".", "!", "?")) and raw.strip()[:1].isupper():
            # a new sentence on a new line: one line, one statement (typical of AC fields)
            end_para()
        if not para:
            para_section = ln.section
        para.append(raw.strip())
    end_para()
    return items


def _parse_region(lines: list[_Line], *, rules_only: bool = False) -> list[_Item]:
    """Items of a stretch of lines, Gherkin runs and plain stretches in document order."""
    runs = [] if rules_only else _gherkin_runs(lines)
    items: list[_Item] = []
    pos = 0
    for start, end in runs:
        items.extend(_parse_plain(lines[pos:start], rules_only=rules_only))
        items.extend(_parse_gherkin(lines[start:end]))
        pos = end
    items.extend(_parse_plain(lines[pos:], rules_only=rules_only))
    return items


def _items_where(lines: list[_Line], kinds: set[str], **kw: Any) -> list[_Item]:
    """Items from the lines whose section kind is in ``kinds``; other lines act as breaks."""
    masked = [ln if ln.kind in kinds else _Line("", ln.kind, ln.section) for ln in lines]
    return _parse_region(masked, **kw)


def _to_criterion(story_key: str, n: int, item: _Item) -> AcceptanceCriterion:
    text = "\n".join(item.lines).strip()
    given, when, then = list(item.given), list(item.when), list(item.then)
    style = item.style
    inline = _INLINE_GWT.match(" ".join(" ".join(item.lines).split())) if style != "gherkin" else None
    if inline:  # "Given X when Y then Z" written on one line
        given, when, then = [inline.group(1).strip()], [inline.group(2).strip()], [inline.group(3).strip()]
        style = "gherkin"
    elif style != "gherkin":
        when, then = _split_condition(item.lines[0])
    c = AcceptanceCriterion(
        id=f"{story_key}/AC-{n}",
        story_key=story_key,
        text=text,
        section=item.section,
        style=style,  # type: ignore[arg-type]
        given=given,
        when=when,
        then=then,
    )
    assess_criterion(c)
    return c


def parse_criteria(story_key: str, text: Any, *, from_field: bool = False) -> list[AcceptanceCriterion]:
    """Acceptance criteria found in ``text`` (wiki, ADF, XHTML, Markdown or plain text).

    ``from_field=True``: the text came from the dedicated acceptance-criteria field, so all of it
    is criteria. Otherwise only criteria-ish sections count, falling back to Gherkin blocks and
    then rule sentences when there are none. Each criterion is assessed (``vague`` is set).
    """
    plain = to_text(text)
    if not plain.strip():
        return []
    if from_field:
        lines, _ = _sectioned(plain, AC)
        items = _items_where(lines, {AC, NON, UNKNOWN})
    else:
        lines, saw_ac = _sectioned(plain, UNKNOWN)
        items = _items_where(lines, {AC}) if saw_ac else []
        if not items:
            usable = [ln if ln.kind not in (REQ,) else _Line("", ln.kind, ln.section) for ln in lines]
            runs = _gherkin_runs(usable)
            items = [it for s, e in runs for it in _parse_gherkin(usable[s:e])]
            if not items:
                items = _items_where(lines, {AC, UNKNOWN}, rules_only=True)
    items = [it for it in items if _has_words(" ".join(it.lines))]
    return [_to_criterion(story_key, i, item) for i, item in enumerate(items, start=1)]


def _has_words(text: str) -> bool:
    """A criterion says something: a lone @mention, emoji or table separator is not one."""
    words = re.findall(r"[A-Za-z]{2,}", re.sub(r"@\w+|:\w+:|https?://\S+", " ", text))
    return len(words) >= 2


# --------------------------------------------------------------------------- parameters and endpoint

_PARAM_SECTION = re.compile(r"^(path|query|header|form|cookie|body|request|url)\s+param(eter)?s?$", re.I)
_BODY_SECTION = re.compile(r"^(request body|body|request payload|payload)$", re.I)
_ANY_PARAM_SECTION = re.compile(r"^(request )?param(eter)?s$|^inputs?$|^fields$", re.I)
_PARAM_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+`([^`]+)`\s*(?:\(((?:`[^`]*`|[^`)])*)\))?\s*:?\s*(.*)$")
_PARAM_LOOSE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\**([A-Za-z_$][\w.\-\[\]]*)\**\s*(?:\(([^)]*)\))?\s*[:\u2013\u2014-]\s*(.*)$")
_REQUIRED = re.compile(r"\b(?:required|mandatory)\s*[:=]\s*(true|false|yes|no)\b\.?", re.I)


def _truthy(v: str) -> bool:
    return v.strip().lower() in ("true", "yes", "y", "x", "required", "mandatory", "\u2713", "\u2714", "1")


def _split_outside_backticks(spec: str) -> list[str]:
    parts, buf, inside = [], [], False
    for ch in spec:
        if ch == "`":
            inside = not inside
        if ch == "," and not inside:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts]


def _param_from_bullet(name: str, spec: str, desc: str, location: str) -> Parameter:
    spec = spec or ""
    ptype, fmt, pattern, default = "", None, None, None
    enum: list[str] = []
    head = _split_outside_backticks(spec)[0] if spec else ""
    head_plain = head.replace("`", "").strip()
    am = re.match(r"array\s+of\s+(\w+)(?:\s+with\s+format\s+(\S+))?", head_plain, re.I)
    if am:
        ptype = f"array[{am.group(1)}]"
        fmt = am.group(2)
    elif head_plain and ":" not in head_plain and head_plain.lower() not in ("required", "optional", "mandatory"):
        ptype = head_plain.split()[0]
    for key, val in re.findall(r"(\w+)\s*:\s*`([^`]*)`", spec) + re.findall(r"(\w+)\s*[:=]\s*([^,`()]+?)\s*(?:,|$)", spec.replace("`", "\x02")):
        val = val.strip()
        k = key.lower()
        if "\x02" in val:
            continue
        if k == "format" and fmt is None:
            fmt = val
        elif k == "pattern" and pattern is None:
            pattern = val
        elif k == "default" and default is None:
            default = val
        elif k == "enum" and not enum:
            enum = [e.strip().strip("'\"") for e in val.strip("[]").split(",") if e.strip()]
        elif k == "type" and not ptype:
            ptype = val
    required = False
    rm = _REQUIRED.search(desc) or _REQUIRED.search(spec)
    if rm:
        required = _truthy(rm.group(1))
    elif re.search(r"\b(required|mandatory)\b", spec, re.I) and not re.search(r"\bnot required\b", spec, re.I):
        required = True
    elif re.search(r"^\s*\(?(required|mandatory)\b", desc, re.I):
        required = True
    desc_clean = _REQUIRED.sub("", desc)
    desc_clean = _clean(re.sub(r"\s+", " ", desc_clean)).strip()
    return Parameter(
        name=name.strip(), location=location, type=ptype, required=required, enum=enum,
        default=default, format=fmt, pattern=pattern, description=desc_clean,
    )


def _table_params(rows: list[str], location: str) -> list[Parameter]:
    if len(rows) < 2:
        return []
    header = [c.strip().lower() for c in rows[0].strip().strip("|").split("|")]

    def col(*names: str) -> int | None:
        for i, h in enumerate(header):
            if any(n in h for n in names):
                return i
        return None

    ci_name = col("name", "parameter", "field")
    if ci_name is None:
        return []
    ci_type, ci_req, ci_desc = col("type"), col("required", "mandatory"), col("description", "notes", "meaning")
    ci_loc, ci_def, ci_enum = col("location", "in"), col("default"), col("allowed", "values", "enum")
    out = []
    for row in rows[1:]:
        if re.fullmatch(r"[\s|:\-]+", row):
            continue
        cells = [c.strip() for c in row.strip().strip("|").split("|")]

        def get(i: int | None) -> str:
            return _clean(cells[i]) if i is not None and i < len(cells) else ""

        name = get(ci_name)
        if not name:
            continue
        enum_raw = get(ci_enum)
        out.append(Parameter(
            name=name, location=get(ci_loc).lower() or location, type=get(ci_type),
            required=_truthy(get(ci_req)), description=get(ci_desc), default=get(ci_def) or None,
            enum=[e.strip() for e in re.split(r"[,/]", enum_raw.strip("[]")) if e.strip()] if enum_raw else [],
        ))
    return out


def parse_parameters(text: Any) -> list[Parameter]:
    """Parameters named in the request sections of a story ("Path Parameters", "Request Body"...).

    Bullets like ``- `accountId` (`string`, format: `uuid`): The ID. Required: true.`` and tables
    with Name / Type / Required columns are understood. The request body becomes one parameter
    named ``body`` (location ``body``) unless the section says N/A.
    """
    plain = to_text(text)
    params: list[Parameter] = []
    seen: set[tuple[str, str]] = set()
    location: str | None = None
    body_lines: list[str] | None = None
    table: list[str] = []
    in_code = False

    def add(p: Parameter) -> None:
        key = (p.name, p.location)
        if key not in seen:
            seen.add(key)
            params.append(p)

    def flush_table() -> None:
        nonlocal table
        if table and location is not None:
            for p in _table_params(table, location):
                add(p)
        table = []

    def flush_body() -> None:
        nonlocal body_lines
        if body_lines is not None:
            p = _body_param(body_lines)
            if p is not None:
                add(p)
        body_lines = None

    for line in plain.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            if body_lines is not None:
                body_lines.append(line)
            continue
        h = None if in_code else _heading(line)
        if h is not None:
            flush_table()
            flush_body()
            title = h[1]
            pm = _PARAM_SECTION.match(title)
            if pm:
                loc = pm.group(1).lower()
                location = {"request": "", "url": "path"}.get(loc, loc)
            elif _BODY_SECTION.match(title):
                location, body_lines = None, []
            elif _ANY_PARAM_SECTION.match(title):
                location = ""
            else:
                location = None
            continue
        if body_lines is not None:
            body_lines.append(line)
            continue
        if location is None or in_code:
            continue
        if line.strip().startswith("|") or (line.count("|") >= 2 and not _BULLET.match(line)):
            table.append(line)
            continue
        flush_table()
        m = _PARAM_BULLET.match(line)
        if m:
            add(_param_from_bullet(m.group(1), m.group(2) or "", m.group(3) or "", location))
            continue
        m = _PARAM_LOOSE.match(line)
        if m:
            add(_param_from_bullet(m.group(1), m.group(2) or "", m.group(3) or "", location))
    flush_table()
    flush_body()
    return params


def _body_param(lines: list[str]) -> Parameter | None:
    content = [ln for ln in lines if ln.strip()]
    if not content or re.match(r"^\s*(n/?a|none|no body|-)\b", content[0], re.I):
        return None
    required = False
    consumes = ""
    schema: list[str] = []
    in_code = False
    for ln in content:
        if _FENCE.match(ln):
            in_code = not in_code
            continue
        if in_code:
            continue
        body = _BULLET.match(ln).group(3) if _BULLET.match(ln) else ln.strip()
        m = re.match(r"^(consumes|content[- ]type|media type)\s*:\s*(.+)$", body, re.I)
        if m:
            consumes = _clean(m.group(2))
            continue
        m = re.match(r"^(required|mandatory)\s*:\s*(\w+)", body, re.I)
        if m:
            required = _truthy(m.group(2))
            continue
        m = re.match(r"^schema\s*:\s*(.*)$", body, re.I)
        if m:
            schema.append(_clean(m.group(1)))
            continue
        if re.match(r"^example\s*:?\s*$", body, re.I):
            continue
        schema.append(_clean(body))
    return Parameter(name="body", location="body", type=consumes, required=required, description=" ".join(s for s in schema if s))


_ENDPOINT = re.compile(
    r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+`?((?:\{\{[^}\s]+\}\}|\$\{[^}\s]+\}|https?://[^\s/`]+|<[^>\s]+>"
    r"|\w*(?:[Uu]rl|URL|[Hh]ost|[Bb]ase)\w*)?/[^\s`'\"\]\)]*)"
)


def parse_endpoint(text: Any, title: str = "") -> tuple[str, str] | None:
    """``(method, path)`` of the REST endpoint a story specifies, from its text or else its title."""
    raw = text if isinstance(text, str) else ""
    for source in (raw, to_text(text), title or ""):
        m = _ENDPOINT.search(source)
        if m:
            path = re.sub(r"^(\{\{[^}]+\}\}|\$\{[^}]+\}|https?://[^/]+|<[^>]+>|\w+(?=/))", "", m.group(2))
            path = path.rstrip(".,;:")
            if path:
                return m.group(1), path
    return None


# --------------------------------------------------------------------------- vagueness

_OUTCOME = re.compile(
    r"\b(returns?|returned|responds?|responded|response|display(s|ed)?|shows?|shown|showed|sends?|sent|receives?|received"
    r"|status( code)?|(http|code) [1-5]\d\d|errors?|messages?|notif(y|ies|ied|ication)|e-?mails?|sms|redirect(s|ed)?|navigates?"
    r"|appears?|contains?|includes?|produces?|header|prompt(s|ed)?|blocks?|prevents?|prevented|rejects?|rejected"
    r"|den(y|ies|ied)|disabled|enabled|locked|calculated|set to|changes? to|becomes?|will be|totals?|balance"
    r"|records?|recorded|logged|warn(s|ing)?|alerts?|confirm(s|ed|ation)|lists? (all|the|only)|(is|are|gets?|be) (created|updated|saved|"
    r"deleted|removed|rejected|accepted|approved|declined|blocked|closed|cancell?ed|stored|recorded|applied|added|charged|"
    r"refunded|generated|sent|displayed|shown|disabled|enabled|locked|logged|marked|assigned|scheduled|issued|credited|debited"
    r"|waived|flagged|archived|restored|reset|notified|billed|paid|allowed|permitted|visible|hidden|available|unavailable|required))\b"
    # a stated constraint is observable: the action it forbids is refused, the value it bounds is checked
    r"|\b(cannot|can ?not|can't|may not|must not|mustn't|shall not|not (be )?(allowed|permitted)|(is|are) (required|mandatory)"
    r"|(must|shall) (not )?\w+|at (least|most)|no (more|less|later|earlier) than|up to \d"
    r"|sees?|can see|views?|(is|are) able to|can (now )?(\w+)|gets?|has access|have access"
    r"|asks? for|offers?|resets?|clears?|increments?|decrements?|updates?|to \d)\b",
    re.I,
)
_VERBS = (
    "return|respond|display|show|send|receive|redirect|navigate|appear|contain|produce|prompt|ask for|offer|block"
    "|prevent|reject|deny|reset|clear|increment|decrement|update|become|change to|move to|notify|warn|alert|confirm"
    "|create|calculate|highlight|disable|enable|lock|open|close"
)
_VERB_3RD = "|".join(
    (v[:-1] + "ies" if v.endswith("y") and v[-2] not in "aeiou" else v + ("es" if v.endswith(("sh", "ch", "x", "s")) else "s"))
    if " " not in v else v.split(" ", 1)[0] + "s " + v.split(" ", 1)[1]
    for v in _VERBS.split("|")
)
# a result verb as a statement: "the console shows", "the API will return" (not "attempts to block")
_RESULT_VERB = re.compile(
    rf"\b({_VERB_3RD})\b|\b(will|should|must|shall|does|do|then)( not)? ({_VERBS})\b"
    r"|\b(is|are|gets?|be|been) (created|updated|saved|deleted|removed|rejected|accepted|approved|declined|blocked|closed|"
    r"cancell?ed|stored|recorded|applied|added|charged|refunded|generated|sent|displayed|shown|disabled|enabled|locked|logged|"
    r"marked|assigned|scheduled|issued|credited|debited|waived|flagged|archived|restored|reset|notified|billed|paid|allowed|"
    r"permitted|visible|hidden|available|unavailable|listed|set|cleared|required|verified|submitted|moved|routed)\b"
    r"|\b(cannot|can ?not|can't|may not|must not|mustn't|shall not)\b",
    re.I,
)
_SUBJECTIVE = re.compile(
    r"\b(user[- ]friendly|works? (well|fine|correctly|properly)|fast|quickly|intuitive(ly)?|appropriate(ly)?|properly|correctly"
    r"|as (generally )?expected|generally|reasonabl[ey]|easy|easily|simple|seamless(ly)?|smooth(ly)?|nice|good|better|efficient(ly)?"
    r"|robust|graceful(ly)?|without crashing|basic|adequate(ly)?|acceptable|sufficient(ly)?|timely|suitable|optimal|relevant"
    r"|etc|and so on|responsive|modern|clean|clear(ly)?|successfully)\b",
    re.I,
)
# "successfully" alone is not subjective when a measurable outcome sits next to it; see _subjective().
_MEASURE = re.compile(r"\d|'[^']+'|\"[^\"]+\"|\u201c[^\u201d]+\u201d")
_EG = re.compile(r"\((?:e\.g\.|eg\.|for example|such as)[^)]*\)|\b(?:e\.g\.|for example|such as)\s+[^.;]*", re.I)
_COND = re.compile(
    r"\b(if|when|whenever|given|after|before|once|unless|while|during|upon|where|in case|provided|only)\b"
    r"|\b(for|with|without|on)\s+(a|an|the|any|each|every|all|no|invalid|valid|expired|existing|missing|empty|unknown|"
    r"duplicate|more|less|over|under|at least|at most|\d)",
    re.I,
)
_OUTCOME_PHRASES = re.compile(r"\b(respond(s|ed)?|repl(y|ies|ied)|return(s|ed)?|filled|populated|replaced|marked|tagged)\s+with\b", re.I)

MISSING_OUTCOME = "no observable outcome"
MISSING_CONDITION = "no condition"
SUBJECTIVE = "subjective wording"


def _subjective(text: str) -> str | None:
    """The subjective word when the criterion relies on one without a measurable value."""
    without_examples = _EG.sub("", text)
    words = [m.group(0) for m in _SUBJECTIVE.finditer(without_examples)]
    words = [w for w in words if w.lower() != "successfully"]
    if words and not _MEASURE.search(without_examples):
        return words[0]
    return None


def assess_criterion(c: AcceptanceCriterion) -> list[str]:
    """What the criterion lacks, and set ``c.vague``.

    Returns a list drawn from "no observable outcome", "no condition" and "subjective wording
    ('<word>') without a measurable value". ``vague`` is True when the outcome is missing or the
    wording is subjective without a measurable value.
    """
    missing: list[str] = []
    if c.style == "gherkin" or c.given or c.when or c.then:
        outcome_text = " ".join(c.then)
        if c.style == "gherkin":
            has_outcome = bool(c.then)
        else:
            # the result part, or else a result verb anywhere ("When X the screen shows Y")
            has_outcome = bool(_OUTCOME.search(outcome_text)) or bool(_RESULT_VERB.search(c.text))
        has_condition = bool(c.given or c.when) or bool(_COND.search(_OUTCOME_PHRASES.sub("", outcome_text)))
    else:
        has_outcome = bool(_OUTCOME.search(c.text))
        has_condition = bool(_COND.search(_OUTCOME_PHRASES.sub("", c.text)))
    if not has_outcome:
        missing.append(MISSING_OUTCOME)
    if not has_condition:
        missing.append(MISSING_CONDITION)
    word = _subjective(c.text)
    if word:
        missing.append(f"{SUBJECTIVE} ('{word}') without a measurable value")
    c.vague = (not has_outcome) or bool(word)
    return missing


_NEGATIVE = re.compile(
    r"\b(errors?|invalid|fail(s|ed|ure)?|reject(s|ed|ion)?|den(y|ies|ied)|not (found|allowed|permitted|valid|authori[sz]ed)"
    r"|cannot|can't|can ?not|must not|may not|unauthori[sz]ed|forbidden|missing|expired|exceed(s|ed|ing)?|[45]\d\d"
    r"|more than|less than|fewer than|greater than|over the|beyond|outside|blocked|declined|unless|malformed|duplicate"
    r"|without|wrong|incorrect|mismatch|insufficient|limit)\b",
    re.I,
)

_ADVICE = {
    MISSING_OUTCOME: "the expected result: status code, message or state change",
    MISSING_CONDITION: "the condition or input it applies to (when/if ..., for a customer with ...)",
    SUBJECTIVE: "a measurable value in place of the subjective word (a number, a limit, an exact message)",
}


def _advice(missing: list[str]) -> str:
    parts = []
    for m in missing:
        key = SUBJECTIVE if m.startswith(SUBJECTIVE) else m
        if key in _ADVICE and _ADVICE[key] not in parts:
            parts.append(_ADVICE[key])
    return "; ".join(parts)


def _short(text: str, n: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 3] + "..."


def assess_story(story_key: str, criteria: list[AcceptanceCriterion], description: Any = "") -> list[Finding]:
    """Findings about a story's requirement quality (see the module docstring for the rules)."""
    if not criteria:
        return [Finding(
            severity="error", code="no-criteria", story_key=story_key,
            message=(
                f"{story_key} has no acceptance criteria: no 'Acceptance Criteria' section, Given/When/Then "
                "scenario or rule sentence ('must', 'should', 'cannot') was found. Add criteria that each name a "
                "condition and the expected result (status code, message or state change), including the error cases."
            ),
        )]
    findings: list[Finding] = []
    assessed = [(c, assess_criterion(c)) for c in criteria]
    vague = [(c, m) for c, m in assessed if c.vague]
    for c, missing in vague:
        findings.append(Finding(
            severity="info", code="vague-criterion", story_key=story_key, criterion_id=c.id,
            message=f"{c.id} \"{_short(c.text)}\" is vague: {', '.join(missing)}. Add {_advice(missing)}.",
        ))

    gaps: list[str] = []
    advice: list[str] = []
    n = len(criteria)
    many_vague = 2 * len(vague) >= n
    if many_vague:
        kinds = {m if not m.startswith(SUBJECTIVE) else SUBJECTIVE for _, ms in vague for m in ms}
        lacking = [k for k in (MISSING_OUTCOME, SUBJECTIVE, MISSING_CONDITION) if k in kinds]
        gaps.append(f"{len(vague)} of {n} criteria are vague ({', '.join(lacking)})")
        advice.append(_advice(lacking))
    if n <= 2:
        gaps.append(f"only {n} criteri{'on' if n == 1 else 'a'}")
        advice.append("a criterion for each outcome the story promises")
    if not any(_NEGATIVE.search(c.text) for c in criteria):
        gaps.append("no error or negative scenario")
        advice.append("what must happen on invalid input, missing data, not found or not permitted, with the exact result")
    if not any(MISSING_OUTCOME not in m and MISSING_CONDITION not in m for _, m in assessed):
        gaps.append("no criterion pairs a condition with its expected result")
        advice.append("criteria of the form 'when/if <condition>, <observable result>'")
    desc_text = to_text(description) if description else ""
    if desc_text and parse_endpoint(desc_text) is not None and not parse_parameters(desc_text):
        gaps.append("the endpoint's inputs (path, query or header parameters, request body) are not described")
        advice.append("each parameter with its type, whether it is required and its allowed values")
    if many_vague or len(gaps) >= 2:
        findings.insert(0, Finding(
            severity="warning", code="vague-criteria", story_key=story_key,
            message=(
                f"{story_key}'s acceptance criteria are too thin to test without guessing: {'; '.join(gaps)}. "
                f"Add {'; '.join(a for a in advice if a)}."
            ),
        ))
    return findings


# --------------------------------------------------------------------------- convenience


def extract(
    story_key: str, description: Any, ac_field_value: Any, *, title: str = ""
) -> tuple[list[AcceptanceCriterion], list[Parameter], tuple[str, str] | None]:
    """Criteria (AC field when it has text, else the description), parameters and endpoint of a story."""
    desc_text = to_text(description)
    field_text = to_text(ac_field_value)
    if field_text.strip():
        criteria = parse_criteria(story_key, field_text, from_field=True)
    else:
        criteria = parse_criteria(story_key, desc_text)
    parameters = parse_parameters(desc_text)
    if field_text.strip():
        named = {(p.name, p.location) for p in parameters}
        parameters += [p for p in parse_parameters(field_text) if (p.name, p.location) not in named]
    endpoint = parse_endpoint(desc_text, title) or (parse_endpoint(field_text) if field_text.strip() else None)
    return criteria, parameters, endpoint

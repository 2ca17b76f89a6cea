"""The story text read as lines under headings: which headings there are, what kind of section each opens.

Headings are Markdown ``#`` lines, wiki ``h3.`` lines, lines that are wholly bold (``*Rules*``,
``**Rules**``), short plain lines ending in ``:`` and a few well-known section names on their own
(``Acceptance Criteria``). A heading is *criteria-ish* (``AC``) when it names acceptance criteria
or scenarios, success or error scenarios, business rules, validation, edge cases and the like; it
is *not criteria* (``NON``) when it names notes, background, scope and so on, and a *request*
section (``REQ``) when it names the request, its parameters or its body. A heading that is none of
these (``UNKNOWN``) inherits from the heading it is nested under.

:func:`_sectioned` gives every line with the kind and title of the section it sits in;
:func:`_clean` strips inline Markdown (links, bold, backticks) from a line's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.intake.gherkin_dialects import block_keyword

# --------------------------------------------------------------------------- headings and sections

_AC_HEADING = re.compile(
    r"\b(acceptance|criteri(a|on)|scenarios?|business rules?|rules|validations?|edge cases?|boundar(y|ies)"
    r"|happy path|unhappy path|negative (cases?|paths?|flows?|tests?)|error (handling|cases?|conditions?|paths?)"
    r"|alternat(e|ive) (flows?|paths?)|exception (flows?|paths?)|conditions of satisfaction"
    r"|expected (results?|behaviou?rs?|outcomes?)|success criteria|test (cases|scenarios)|constraints)\b"
    # the same in the other languages criteria are written in (see docs/inputs-and-criteria.md)
    r"|\b(akzeptanzkriterien|abnahmekriterien|szenarien|geschäftsregeln|critères d'acceptation|scénarios"
    r"|règles (de gestion|métier)|criterios de aceptación|escenarios|reglas de negocio"
    r"|критерии (приёмки|приемки|принятия)|сценарии|معايير القبول|स्वीकृति मानदंड"
    r"|수용 기준|인수 기준|승인 기준)\b"
    # Chinese and Japanese are written without spaces, so no word boundaries
    r"|验收标准|驗收標準|受入基準|受け入れ基準|受入条件|受け入れ条件",
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
_COLON_LINE = re.compile(r"^((?![a-z])[^\W\d_][^.!?:\uff1a|`]{0,70}?)\s*[:\uff1a]\s*$")  # a capital or caseless letter
# a list marker: a bullet, "1." / "1)" / "(1)" / "a)", or a numbered criterion label ("AC1:", "AC-2", "AC 3.")
_BULLET = re.compile(r"^(\s*)([-*+\u2022\u2023\u25e6\u25aa\u00b7]|\d{1,3}[.)]|\(\d{1,3}\)|[a-h]\)|"
                     r"AC[- ]?\d{1,3}[.:)]?)\s+(.*)$")
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
    m = re.match(r"^(?:Feature|Rule)\s*:\s*(\S.*)$", stripped)
    if m:  # a Gherkin Feature or Rule names the scenarios under it
        return None, _norm_title(m.group(1))
    block = block_keyword(stripped)  # the same in another language ("Funktionalität:", "Beispiele:")
    if block:
        return (None, _norm_title(block[1])) if block[0] in ("Feature", "Rule") and block[1] else None
    if _GHERKIN_KW.match(stripped):
        return None
    m = _BOLD_LINE.match(stripped)
    if m and len(m.group(2).split()) <= 10:
        return None, _norm_title(m.group(2))
    m = _COLON_LINE.match(stripped)
    if m and len(m.group(1).split()) <= 6:
        return None, _norm_title(m.group(1))
    if len(stripped.split()) <= 5 and not stripped.endswith((".", "!", "?")) and _classify(stripped) in (AC, REQ):
        if not stripped[0].islower() and re.fullmatch(r"[^\W\d_][^\W\d_ /&()'-]*(?: [^\W\d_/&()'-]+)*", stripped):
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


def _sectioned(text: str, base_kind: str, *, keep_bare_headings: bool = False) -> tuple[list[_Line], bool]:
    """Every non-heading line with its effective section kind and title; and whether any AC heading exists.

    ``keep_bare_headings``: a heading with nothing under it (the next line with text is another
    heading, or there is none) is read as a line of text, so that its words are not lost.
    """
    stack: list[_Frame] = []
    out: list[_Line] = []
    saw_ac = False
    in_code = False
    lines = text.split("\n")
    bare = _bare_headings(lines) if keep_bare_headings else set()
    for i, line in enumerate(lines):
        if i in bare:
            out.append(_Line(line, _effective(stack, base_kind), stack[-1].title if stack else ""))
            continue
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


def _bare_headings(lines: list[str]) -> set[int]:
    """Indexes of heading lines with no text line before the next heading (or the end)."""
    bare: set[int] = set()
    pending: int | None = None
    in_code = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_code = not in_code
        if not line.strip():
            continue
        if not in_code and _heading(line) is not None:
            if pending is not None:
                bare.add(pending)
            pending = i
        else:
            pending = None
    if pending is not None:
        bare.add(pending)
    return bare


def _effective(stack: list[_Frame], base_kind: str) -> str:
    for frame in reversed(stack):
        if frame.kind != UNKNOWN:
            return frame.kind
    return base_kind


# --------------------------------------------------------------------------- cleaning


def _clean(s: str) -> str:
    s = re.sub(r"\[([^\]\n]+)\]\(([^)\n]+)\)", r"\1 (\2)", s)
    s = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", s)
    s = s.replace("`", "")
    return re.sub(r"[ \t]+", " ", s).strip()

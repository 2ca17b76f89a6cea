"""Criterion items inside the criteria sections: Gherkin scenarios, list items, table rows, paragraphs and rule sentences.

A Given/When/Then block is one item per ``Scenario:`` (or per Given..Then group when there are no
scenario lines; ``And``/``But`` extend the previous keyword, ``Background:`` steps are prepended
to each scenario's givens). A run of keyword lines only counts as Gherkin when it has a
``Scenario`` line or a ``Then``; otherwise it is read as ordinary lines. Each bullet or numbered
item is one item; nested items and wrapped lines fold into their parent. A paragraph is one item
(``prose``), or one per sentence when it holds rule sentences (``rule``: "must", "should",
"shall", "cannot", "is required", "only ... if" ...), never the "As a ..., I want ..." story
sentence. Table rows after the header row are one item each (:mod:`agent.intake.tables`). A line
led by an emoji, arrow, ``@`` or another symbol starts an item of its own, and sentence ends and
capitals are told apart in any script (:mod:`agent.intake.language`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.intake.gherkin_dialects import block_keyword, step_keyword
from agent.intake.language import ends_sentence, opens_sentence, split_sentences, symbol_led
from agent.intake.lexicon import STORY_SENTENCE, is_rule_sentence
from agent.intake.sections import _BULLET, _FENCE, _clean, _Line
from agent.intake.tables import table_rows

# --------------------------------------------------------------------------- sentences and rules

_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|incl|no|min|max|cf)\.", re.I)


def _sentences(para: str) -> list[str]:
    return split_sentences(para, _ABBREV)


_RULE = re.compile(
    r"\b(must|should|shall|cannot|can ?not|can't|may not|mustn't|shouldn't|(is|are) (required|mandatory|not allowed|not permitted|prohibited)"
    r"|only\b.+\b(if|when|after|before|for|with)|will not|won't|is limited to|at (least|most)|no (more|less|later|earlier) than)\b",
    re.I,
)
_USER_STORY = re.compile(r"^\s*(as an?|as the|in order to)\b.*\b(i want|i need|i should|i can|i would|so that|to be able)\b", re.I)


def _is_story_sentence(text: str) -> bool:
    return bool(_USER_STORY.match(text) or STORY_SENTENCE.match(text))


def _is_rule(sentence: str) -> bool:
    return bool(_RULE.search(sentence) or is_rule_sentence(sentence)) and not _is_story_sentence(sentence)


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
    # the same keywords in the other languages Gherkin is written in ("Szenario:", "Angenommen", "もし")
    block = block_keyword(body)
    if block and block[0] not in ("Feature", "Rule"):
        return block[0], body
    step = step_keyword(body)
    if step:
        return step[0], body
    return None


def _step_text(body: str) -> str:
    """The text of a step line, after its keyword (English or translated)."""
    translated = step_keyword(body)
    if translated and not re.match(r"^(Given|When|Then|And|But)\s", body):
        return translated[1]
    parts = body.split(None, 1)
    return parts[1] if len(parts) > 1 else ""


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
        examples = False  # inside an Examples table: its rows may have lost their outer pipes (wiki tables)
        while j < n:
            t = lines[j].text
            in_examples = examples or (t.strip().startswith("|") and j > start)
            if _gherkin_keyword(t) is not None or in_examples and "|" in t or t.strip().startswith(('"""', "@")):
                kw = _gherkin_keyword(t)
                examples = (kw[0] in ("Examples", "Scenarios") if kw else examples) or t.strip().startswith("|")
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
        step = _step_text(body)
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
    in_code = False
    code_only = False
    tables = table_rows([ln.text for ln in lines], _clean)

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
            elif not _is_story_sentence(text):
                items.append(_Item("rule" if rule_sents else "prose", para_section, [text]))
        para = []

    for i, ln in enumerate(lines):
        raw = ln.text
        if _FENCE.match(raw):
            in_code = not in_code
            if not in_code and code_only:
                cur, code_only = None, False
            continue
        if in_code:
            if rules_only or (cur is None and not raw.strip()):
                continue
            if cur is None:
                # a code block under no item is a statement of its own, kept verbatim
                end_para()
                cur, code_only = _Item("prose", ln.section, []), True
                items.append(cur)
            cur.lines.append(raw.rstrip())
            continue
        if not raw.strip():
            end_para()
            cur = None
            continue
        bm = _BULLET.match(raw)
        if bm:
            end_para()
            indent = len(bm.group(1).expandtabs(4))
            text = _clean(bm.group(3))
            if not text:
                continue
            if rules_only:
                # a line labelled as a criterion ("AC3: ...") is one whatever its wording
                if _is_rule(text) or re.match(r"AC", bm.group(2)):
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
        if i in tables and not rules_only:
            end_para()
            cur = None
            row = tables[i]
            if row is not None:
                items.append(_Item("table", ln.section, [row.text], when=row.when, then=row.then))
            continue
        if symbol_led(raw) and not raw[:1].isspace():
            # an emoji, arrow or @mention opens a statement of its own
            end_para()
            cur = None
        if cur is not None and not para:
            # a wrapped line continues the item above it
            cur.lines[-1] = cur.lines[-1] + " " + _clean(raw)
            continue
        if para and ends_sentence(para[-1]) and opens_sentence(raw):
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

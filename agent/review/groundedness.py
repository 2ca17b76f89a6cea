"""Review for groundedness: every concrete value a case states must come from somewhere.

A concrete value is an amount ($150.00, 150 dollars), a percentage, a quantity with a unit
(14 days, 3 attempts, 10 business days), an HTTP status code, an error code (ERR_CARD_DECLINED,
E-1023) or a quoted status ("Pending Approval"). Each must appear in the story (summary,
description, criteria, parameters) or in a source retrieved for it (rule sections, approved
cases); otherwise the case gets a Finding `unsupported-value`, which the revise round sends
back to the generator.

Numbers compare by value, so "$1,000" is supported by "1000.00". A number next to a supported
one (n +/- 1, n +/- 0.01) is accepted too, because boundary cases test just inside and just
outside a limit the rules state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from decimal import Decimal, InvalidOperation

from agent.models import Finding, Story, UATCase
from agent.review.values import CURRENCY_CODES, CURRENCY_SYMBOLS, NUMBER, UNITS
from connectors.chunking import case_text

CODE = "unsupported-value"

_NUM = NUMBER
_UNITS = UNITS + "|" + "|".join(code.lower() for code in CURRENCY_CODES)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("amount", re.compile(r"(?:[$£€]|\b(?:" + "|".join(CURRENCY_CODES) + r")\s?)\s?(" + _NUM + r")", re.I)),
    ("percentage", re.compile(r"(?<![\w.])(" + _NUM + r")\s?%")),
    ("quantity", re.compile(r"(?<![\w.$£€])(" + _NUM + r")[\s-]?(?:" + _UNITS + r")\b", re.I)),
    ("status code", re.compile(r"\b(?:HTTP(?:\s+status)?|status(?:\s+code)?|response(?:\s+code)?|returns?)\s*:?\s*([1-5]\d\d)\b", re.I)),
    ("error code", re.compile(r"\b([A-Z][A-Z0-9]*(?:[_-][A-Z0-9]+)+)\b")),
    ("status", re.compile(r"[\"“]([A-Z][A-Za-z]+(?: [A-Za-z]+){0,3})[\"”]")),
]
_DIGIT = re.compile(r"\d")
_CODES_LOWER = tuple(code.lower() for code in CURRENCY_CODES)
_MAY_HOLD = {  # what a text must contain for each pattern to match in it (checked in C, before the regex)
    "amount": lambda text, low, digit: digit and (any(s in text for s in CURRENCY_SYMBOLS) or any(c in low for c in _CODES_LOWER)),
    "percentage": lambda text, low, digit: digit and "%" in text,
    "quantity": lambda text, low, digit: digit,
    "status code": lambda text, low, digit: digit,
    "error code": lambda text, low, digit: "_" in text or "-" in text,
    "status": lambda text, low, digit: '"' in text or "“" in text,
}
_NUMBER_IN_TEXT = re.compile(_NUM)
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")


@dataclass(frozen=True)
class Value:
    kind: str
    text: str      # as written in the case
    key: str       # what is compared: a normalised number or lower-cased text


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


_NUMERIC = ("amount", "percentage", "quantity", "status code")


def _values_by_pattern(text: str) -> tuple[tuple[Value, ...], ...]:
    """Per pattern (in _PATTERNS order), the values it finds in `text`, in the order they appear."""
    per: list[tuple[Value, ...]] = []
    text = text or ""
    low, digit = text.lower(), _DIGIT.search(text) is not None
    for kind, pattern in _PATTERNS:
        found: list[Value] = []
        if not _MAY_HOLD[kind](text, low, digit):
            per.append(())
            continue
        for m in pattern.finditer(text):
            raw = m.group(1)
            if kind in _NUMERIC:
                num = _number(raw)
                if num is None:
                    continue
                key = str(num.normalize())
            else:
                if kind == "error code" and (_ISSUE_KEY.match(raw) or not re.search(r"\d|_", raw)):
                    continue  # an issue key or an ordinary hyphenated word, not an error code
                key = raw.lower()
            found.append(Value(kind, m.group(0).strip(), key))
        per.append(tuple(found))
    return tuple(per)


def _once(per_text: Sequence[tuple[tuple[Value, ...], ...]]) -> list[Value]:
    """The values of several texts, pattern by pattern, each once (numbers compare by value)."""
    found: dict[tuple[str, str], Value] = {}
    for k in range(len(_PATTERNS)):
        for per in per_text:
            for value in per[k]:
                found.setdefault(("number" if value.kind in _NUMERIC else "text", value.key), value)
    return list(found.values())


def extract_values(text: str) -> list[Value]:
    """The concrete values in a piece of text, each once."""
    return _once([_values_by_pattern(text)])


class Corpus:
    """What a story's cases may draw on: its own text plus the sources retrieved for it."""

    def __init__(self, texts: Iterable[str]):
        joined = "\n".join(t for t in texts if t)
        self.text = " ".join(joined.lower().split())
        self.numbers: set[Decimal] = set()
        for m in _NUMBER_IN_TEXT.finditer(joined):
            num = _number(m.group(0))
            if num is not None:
                self.numbers.add(num.normalize())

    def supports(self, value: Value) -> bool:
        if value.kind in ("amount", "percentage", "quantity", "status code"):
            num = Decimal(value.key)
            return any(num + delta in self.numbers or (num + delta).normalize() in self.numbers
                       for delta in (Decimal(0), Decimal(1), Decimal(-1), Decimal("0.01"), Decimal("-0.01")))
        return " ".join(value.key.split()) in self.text


def story_texts(story: Story) -> list[str]:
    texts = [story.key, story.summary, story.description, story.method or "", story.endpoint or ""]
    texts += [c.text for c in story.criteria]
    texts += [c.id for c in story.criteria]
    for p in story.parameters:
        texts += [p.name, p.description, p.default or "", p.format or "", p.pattern or "", " ".join(p.enum)]
    for case in story.approved_cases:
        texts.append(case_text(case.model_dump()))
    return texts


def _claim_parts(case: UATCase) -> list[str]:
    """The parts of a case that state facts (not its notes, which may say what is missing)."""
    parts = [case.title, case.objective, *case.preconditions]
    parts += [f"{k}: {v}" for k, v in case.test_data.items()]
    for step in case.steps:
        parts += [step.action, step.data, step.expected]
    return [p for p in parts if p]


def case_values(case: UATCase, memo: dict[str, Any] | None = None) -> list[Value]:
    """The concrete values a case states, each once. Each part (title, objective, a step's action,
    data or expected result...) is read on its own, so a value never spans two parts; `memo` keeps
    what a part gave, for the next case that repeats it (a story's cases share preconditions and
    steps: about three parts in ten repeat within a story)."""
    memo = {} if memo is None else memo
    per_part = []
    for part in _claim_parts(case):
        found = memo.get(part)
        if found is None:
            found = memo[part] = _values_by_pattern(part)
        per_part.append(found)
    return _once(per_part)


def check_grounding(story: Story, cases: Sequence[UATCase], source_texts: Iterable[str] = (),
                    memo: dict[str, Any] | None = None) -> list[Finding]:
    """One `unsupported-value` finding per case and value that neither the story nor its sources
    state. `memo`: see case_values (one dict for a whole review pass)."""
    corpus = Corpus([*story_texts(story), *source_texts])
    findings: list[Finding] = []
    for case in cases:
        for value in case_values(case, memo):
            if corpus.supports(value):
                continue
            findings.append(Finding(
                severity="warning", code=CODE, story_key=case.story_key, case_id=case.id,
                message=(f"Case {case.id} states {value.kind} '{value.text}', which appears neither in "
                         f"story {story.key} nor in the sources retrieved for it; take it from the "
                         "rules or remove it.")))
    return findings

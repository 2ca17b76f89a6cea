"""The tests already linked to a story, read as the mapping needs them (agent/review/mapping.py):
title, steps and expected results as text, the criterion ids the test names itself, whether it is
casewright's own (its label) and the criterion texts its fingerprint property recorded, and when
it was created and last updated. Any format is read: a test in the house format gives its steps,
any other its description as plain text."""

from __future__ import annotations

import re
from typing import Any

from agent.models import ExistingTest, UATCase
from agent.writeback.identity import CASE_PROPERTY, LABEL
from connectors.markup import to_text

CRITERION_REF = re.compile(r"\b([A-Z][A-Z0-9_]*-\d+/AC-\d+)\b")
"""A criterion id as a test names it, e.g. ER-2/AC-1 (the form agent/intake/criteria.py gives)."""


def _fingerprint_criteria(raw: dict[str, Any]) -> list[str]:
    """The criterion texts casewright's own test was written for (its `casewright.case` property)."""
    props = raw.get("properties") or {}
    value = props.get(CASE_PROPERTY) if isinstance(props, dict) else None
    if isinstance(value, dict) and isinstance(value.get("value"), dict):
        value = value["value"]
    texts = value.get("criteria") if isinstance(value, dict) else None
    return [str(t) for t in texts if isinstance(t, str)] if isinstance(texts, list) else []


def case_text(case: UATCase) -> str:
    """What a test does and expects, as the semantic match compares it."""
    parts = [case.objective] + [f"{s.action} {s.data} -> {s.expected}".strip() for s in case.steps]
    return "\n".join(p for p in parts if p)


def existing_test(raw: dict[str, Any], parsed: UATCase | None) -> ExistingTest:
    """One linked test issue (`parsed`: its house-format reading, when it has one)."""
    f = raw.get("fields") or {}
    summary = str(f.get("summary") or "").strip()
    description = to_text(f.get("description")) if f.get("description") else ""
    labels = [str(label) for label in f.get("labels") or []]
    if parsed is not None:
        text = case_text(parsed)
        refs = list(parsed.criterion_ids)
    else:
        text = description
        refs = []
    refs = list(dict.fromkeys(refs or CRITERION_REF.findall(f"{summary}\n{description}")))
    return ExistingTest(key=str(raw["key"]), title=summary, text=text, criterion_ids=refs,
                        fingerprint_criteria=_fingerprint_criteria(raw), own=LABEL in labels,
                        created=f.get("created"), updated=f.get("updated"))

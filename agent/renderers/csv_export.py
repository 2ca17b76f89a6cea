"""CSV for TestRail and Zephyr Scale imports: one row per step, case columns repeated on each row."""

from __future__ import annotations

import csv
import io
import re

from agent.models import CaseSet, UATCase
from agent.renderers.common import kind_label
from agent.renderers.limits import clip

CSV_COLUMNS = (
    "Test Case ID",
    "Title",
    "Objective",
    "Preconditions",
    "Test Data",
    "Priority",
    "Type",
    "Labels",
    "Story",
    "Criteria",
    "Step #",
    "Step Action",
    "Step Data",
    "Expected Result",
    "Persona",
    "Confidence",
    "Sources",
)


def _sources(case: UATCase) -> str:
    parts = []
    for src in case.sources:
        text = f"{src.title} ({src.id})" if src.title else src.id
        parts.append(f"{text} <{src.url}>" if src.url else text)
    return "; ".join(parts)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*%?")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet cannot run as a formula: text starting with = + - @ (or a tab) gets a
    leading apostrophe, which Excel and LibreOffice hide; plain numbers such as -5 stay as they are."""
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def case_rows(case: UATCase) -> list[dict[str, str]]:
    """The CSV rows of one case, keyed by column name."""
    shared = {
        "Test Case ID": case.id,
        "Title": case.title,
        "Objective": case.objective,
        "Preconditions": "\n".join(case.preconditions),
        "Test Data": "\n".join(f"{k}: {v}" for k, v in case.test_data.items()),
        "Priority": case.priority,
        "Type": kind_label(case.kind),
        "Labels": ",".join(case.labels),
        "Story": case.story_key,
        "Criteria": ", ".join(case.criterion_ids),
        "Persona": case.persona,
        "Confidence": case.confidence,
        "Sources": _sources(case),
    }
    rows = [
        {**shared, "Step #": str(i), "Step Action": s.action, "Step Data": s.data, "Expected Result": s.expected}
        for i, s in enumerate(case.steps, 1)
    ]
    return [{column: spreadsheet_safe(clip(value)) for column, value in row.items()} for row in rows]


def render_csv(case_set: CaseSet) -> str:
    """All of an epic's cases as CSV text (RFC 4180 quoting, CRLF row ends, UTF-8 safe)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    for case in case_set.cases:
        writer.writerows(case_rows(case))
    return buffer.getvalue()

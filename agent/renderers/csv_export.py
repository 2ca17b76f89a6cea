"""CSV for TestRail and Zephyr Scale imports: one row per step, case columns repeated on each row."""

from __future__ import annotations

import csv
import io

from agent.models import CaseSet, UATCase
from agent.renderers.common import kind_label

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
    return [
        {**shared, "Step #": str(i), "Step Action": s.action, "Step Data": s.data, "Expected Result": s.expected}
        for i, s in enumerate(case.steps, 1)
    ]


def render_csv(case_set: CaseSet) -> str:
    """All of an epic's cases as CSV text (RFC 4180 quoting, CRLF row ends, UTF-8 safe)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    for case in case_set.cases:
        writer.writerows(case_rows(case))
    return buffer.getvalue()

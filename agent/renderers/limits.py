"""Field limits of the tools casewright's outputs are imported into.

Jira text fields (a Test issue's description), Xray's step fields and an Excel cell all take at
most 32,767 characters; a longer value is refused by the import (or cut silently by Excel).
Every renderer and writer that emits such a field passes it through `clip`, which keeps it
within the limit and says so in the text; `limit_findings` reports each clipped field as a
finding, so the report tells the reader what was cut."""

from __future__ import annotations

from typing import Callable

from agent.models import CaseSet, Finding, UATCase

MAX_FIELD_CHARS = 32_767
"""Jira text field, Xray step field, Excel cell: the most characters one field may hold."""
_MARKER = " … [cut by casewright: {total:,} characters, importers accept {limit:,}]"
_SHORT_MARKER = "…[cut]"


def clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`text` when it fits `limit` characters, else its start followed by a visible marker, the
    whole at most `limit` characters."""
    text = text or ""
    if len(text) <= limit:
        return text
    marker = _MARKER.format(total=len(text), limit=limit)
    if len(marker) * 4 > limit:  # a field cut short to fit a whole document
        marker = _SHORT_MARKER
    return text[: max(0, limit - len(marker))].rstrip() + marker


def case_fields(case: UATCase) -> list[tuple[str, str]]:
    """(name, value) of every field of a case that an import takes as one field."""
    fields = [("objective", case.objective), ("persona", case.persona), ("notes", case.notes),
              ("preconditions", "\n".join(case.preconditions)),
              ("test data", "\n".join(f"{k}: {v}" for k, v in case.test_data.items()))]
    for n, step in enumerate(case.steps, 1):
        fields += [(f"step {n} action", step.action), (f"step {n} data", step.data),
                   (f"step {n} expected result", step.expected)]
    return fields


def limit_findings(case_set: CaseSet, described: dict[str, int] | None = None) -> list[Finding]:
    """A warning per case field longer than MAX_FIELD_CHARS (and per case whose house-format
    description, `described[case id]` characters, is): the outputs carry it cut, with a marker."""
    found = []
    for case in case_set.cases:
        over = [(name, len(value)) for name, value in case_fields(case) if len(value) > MAX_FIELD_CHARS]
        if described and described.get(case.id, 0) > MAX_FIELD_CHARS:
            over.append(("Jira description", described[case.id]))
        for name, size in over:
            found.append(Finding(
                severity="warning", code="field-truncated", story_key=case.story_key, case_id=case.id,
                message=f"the {name} of {case.id} has {size:,} characters, more than the {MAX_FIELD_CHARS:,} that "
                        "Jira, Xray and Excel accept; the CSV, Xray and Jira outputs carry it cut, with a marker "
                        "(shorten the source text, or split the case)"))
    return found


def fit(render: Callable[[Callable[[str], str]], str], limit: int = MAX_FIELD_CHARS) -> str:
    """A whole document (a Jira description) within `limit`: `render(cut)` builds it, passing each
    text field through `cut`; when it does not fit, the fields are cut to ever smaller lengths (so
    the document's structure, its sections and traceability, stays whole)."""
    text = render(lambda value: value)
    budget = limit
    while len(text) > limit and budget > 16:
        budget //= 2
        text = render(lambda value, most=budget: clip(value, most))
    return text if len(text) <= limit else clip(text, limit)

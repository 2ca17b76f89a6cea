"""Xray Cloud bulk test import JSON (POST /api/v2/import/test/bulk, or the Test Case Importer's JSON).

Each test is ``{"testtype": "Manual", "fields": {Jira create-issue fields}, "steps": [{"action",
"data", "result"}], "update": {"issuelinks": [...]}}`` with an optional
``xray_test_repository_folder``. Xray accepts at most 1,000 tests per import, so larger epics are
split into several documents.
"""

from __future__ import annotations

import json
import re

from agent.models import CaseSet, UATCase
from agent.renderers.common import kind_label, linked_issue_keys, project_key
from agent.renderers.jira_wiki import escape_inline
from agent.renderers.limits import clip, fit

MAX_TESTS_PER_IMPORT = 1000
MAX_SUMMARY = 255  # Jira's limit for an issue summary
_LABEL_UNSAFE = re.compile(r"\s+")


def jira_label(text: str) -> str:
    """Jira labels may not contain spaces."""
    return _LABEL_UNSAFE.sub("-", text.strip())


def _labels(case: UATCase) -> list[str]:
    labels: list[str] = []
    extra = [case.kind.replace("_", "-"), "low-confidence" if case.confidence == "low" else ""]
    for raw in [*case.labels, *extra]:
        label = jira_label(raw)
        if label and label not in labels:
            labels.append(label)
    return labels


def description(case: UATCase) -> str:
    """The Test issue description in Jira wiki markup: objective, persona, preconditions, test data,
    traceability; within Jira's field limit (agent/renderers/limits.py)."""
    return fit(lambda cut: _description(case, cut))


def _description(case: UATCase, cut) -> str:  # noqa: ANN001 (cut: str -> str)
    def line(text: str) -> str:
        return escape_inline(cut(" ".join(text.split())))
    lines = ["h3. Objective", escape_inline(cut(case.objective.strip())), "h3. Persona",
             escape_inline(cut(case.persona.strip()))]
    if case.preconditions:
        lines += ["h3. Preconditions", *(f"* {line(p)}" for p in case.preconditions)]
    if case.test_data:
        lines += ["h3. Test Data", *(f"* {line(k)}: {line(v)}" for k, v in case.test_data.items())]
    lines += ["h3. Traceability", f"* Story: {case.story_key}"]
    if case.criterion_ids:
        lines.append(f"* Criteria: {', '.join(case.criterion_ids)}")
    lines.append(f"* Kind: {kind_label(case.kind)}")
    lines.append(f"* Confidence: {case.confidence}")
    if case.sources:
        lines.append("* Sources: " + escape_inline("; ".join(f"{s.title or s.id} ({s.id})" for s in case.sources)))
    return "\n".join(lines)


def summary(case: UATCase) -> str:
    """The issue summary: one line, never empty, at most 255 characters."""
    text = " ".join(case.title.split()) or case.id
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1].rstrip() + "…"


def xray_test(case: UATCase, case_set: CaseSet, *, folder: str | None = None) -> dict:
    """One test in the bulk import format."""
    fallback = case_set.epic.project or project_key(case_set.epic.key)
    links = linked_issue_keys(case, case_set.epic.key)
    test: dict = {
        "testtype": "Manual",
        "fields": {
            "project": {"key": project_key(case.story_key, fallback)},
            "summary": summary(case),
            "description": description(case),
            "labels": _labels(case),
            "issuetype": {"name": "Test"},
        },
        "steps": [{"action": clip(s.action), "data": clip(s.data), "result": clip(s.expected)} for s in case.steps],
        "update": {
            "issuelinks": [
                {"add": {"type": {"name": "Tests"}, "outwardIssue": {"key": key}}} for key in links
            ]
        },
    }
    if case.priority.strip():
        test["fields"]["priority"] = {"name": case.priority.strip()}
    if folder:
        test["xray_test_repository_folder"] = folder
    return test


def xray_tests(case_set: CaseSet, *, folder: str | None = None) -> list[dict]:
    """Every case of the epic as bulk-import tests."""
    return [xray_test(c, case_set, folder=folder) for c in case_set.cases]


def render_xray_documents(case_set: CaseSet, *, folder: str | None = None) -> list[str]:
    """The import as JSON documents of at most MAX_TESTS_PER_IMPORT tests each (always at least one)."""
    tests = xray_tests(case_set, folder=folder)
    chunks = [tests[i : i + MAX_TESTS_PER_IMPORT] for i in range(0, len(tests), MAX_TESTS_PER_IMPORT)] or [[]]
    return [json.dumps(chunk, indent=2, ensure_ascii=False) + "\n" for chunk in chunks]


def render_xray(case_set: CaseSet, *, folder: str | None = None) -> str:
    """The whole import as one JSON list (split it yourself above 1,000 tests, or use write_outputs)."""
    return json.dumps(xray_tests(case_set, folder=folder), indent=2, ensure_ascii=False) + "\n"

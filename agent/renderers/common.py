"""Small helpers every renderer shares: coverage lookups, kind names, issue-key parsing."""

from __future__ import annotations

import re

from agent.models import CaseSet, Story, UATCase

KIND_LABELS = {
    "positive": "Positive",
    "negative": "Negative",
    "boundary": "Boundary",
    "end_to_end": "End-to-end",
}

SEVERITY_ORDER = ("error", "warning", "info")

_ISSUE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-\d+$")


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def project_key(issue_key: str, fallback: str = "") -> str:
    """'ER-12' -> 'ER'; anything that is not an issue key gives ``fallback``."""
    match = _ISSUE_KEY.match(issue_key or "")
    return match.group(1) if match else fallback


def criterion_story_key(criterion_id: str) -> str:
    """'ER-5/AC-2' -> 'ER-5'."""
    return criterion_id.split("/", 1)[0]


def is_end_to_end(case: UATCase) -> bool:
    return case.kind == "end_to_end"


def cases_verifying(case_set: CaseSet, criterion_id: str) -> list[UATCase]:
    """Cases that verify a criterion: those naming it, plus any the coverage entry lists."""
    listed = set()
    for entry in case_set.coverage:
        if entry.criterion_id == criterion_id:
            listed.update(entry.case_ids)
    return [c for c in case_set.cases if criterion_id in c.criterion_ids or c.id in listed]


def story_index(case_set: CaseSet) -> dict[str, Story]:
    return {s.key: s for s in case_set.stories}


def linked_issue_keys(case: UATCase, epic_key: str) -> list[str]:
    """The stories a case tests: its own story plus the stories of the criteria it verifies.

    An end-to-end case filed under the epic links to the stories it chains rather than the epic.
    """
    keys: list[str] = []
    for key in [case.story_key, *(criterion_story_key(c) for c in case.criterion_ids)]:
        if key and key not in keys:
            keys.append(key)
    if epic_key in keys and len(keys) > 1:
        keys.remove(epic_key)
    return keys


def one_line(text: str) -> str:
    """Collapse all whitespace (newlines included) to single spaces."""
    return " ".join((text or "").split())


def safe_filename(name: str) -> str:
    """An issue key made safe as a file name (keys are normally safe already)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "").strip("._")
    return cleaned or "unnamed"

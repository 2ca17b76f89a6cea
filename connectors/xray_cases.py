"""What Xray Cloud and Xray Server share: a case as a Test issue's Jira fields (summary, description
with the objective and numbered preconditions in wiki markup, labels, priority), its steps as Xray's
action/data/result, and a Test read back (Jira fields + the identity property + steps) as a
StoredCase. The fields compared for conflicts are summary, description and steps (`native`).
"""

from __future__ import annotations

from typing import Any

from connectors.atlassian_http import Service
from connectors.managed_cases import LABEL, PENDING_LABEL, RETIRED_LABEL, ManagedCase, StoredCase, one_line

XRAY = Service("Xray", "check XRAY_CLIENT_ID + XRAY_CLIENT_SECRET (an API key of Xray's Global Settings)")
TEST_FIELDS = "summary,description,labels,priority,issuelinks,issuetype,project"


def description(case: ManagedCase) -> str:
    parts = [case.objective.strip()] if case.objective.strip() else []
    if case.preconditions:
        parts.append("*Preconditions*\n" + "\n".join(f"# {p.strip()}" for p in case.preconditions))
    return "\n\n".join(parts)


def steps_of(case: ManagedCase) -> list[dict[str, str]]:
    return [{"action": s.action, "data": s.data or "", "result": s.expected or ""} for s in case.steps]


def native(case: ManagedCase) -> dict[str, Any]:
    return {"summary": one_line(case.title), "description": description(case), "steps": steps_of(case)}


def labels_of(case: ManagedCase, *, pending: bool = False) -> list[str]:
    out = [LABEL] + [x for x in case.labels if x != LABEL]
    return out + [PENDING_LABEL] if pending else out


def jira_fields(case: ManagedCase, project_key: str, *, pending: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {"summary": one_line(case.title), "project": {"key": project_key},
                              "description": description(case), "labels": labels_of(case, pending=pending)}
    if case.priority:
        fields["priority"] = {"name": case.priority}
    return fields


def story_keys(issue: dict[str, Any], link_type: str) -> list[str]:
    """The issues this Test points at with `link_type` ("Tests"), by its outward direction."""
    out = []
    for link in (issue.get("fields") or {}).get("issuelinks") or []:
        kind = link.get("type") or {}
        if link.get("outwardIssue") and link_type.lower() in (str(kind.get("name", "")).lower(),
                                                              str(kind.get("outward", "")).lower()):
            out.append(link["outwardIssue"]["key"])
    return out


def stored(issue: dict[str, Any], steps: list[dict[str, Any]], identity: Any, link_type: str) -> StoredCase:
    f = issue.get("fields") or {}
    labels = list(f.get("labels") or [])
    return StoredCase(
        id=issue["key"], identity=identity if isinstance(identity, dict) else None,
        content={"summary": one_line(f.get("summary") or ""), "description": f.get("description") or "",
                 "steps": [{"action": s.get("action") or "", "data": s.get("data") or "", "result": s.get("result") or ""}
                           for s in steps]},
        retired=RETIRED_LABEL in labels, complete=PENDING_LABEL not in labels,
        story_keys=story_keys(issue, link_type), labels=labels, raw=issue)

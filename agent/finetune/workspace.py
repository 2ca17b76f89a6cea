"""The stories to learn from: every story-like issue of a workspace parsed with its criteria and
approved cases, and a workspace read live from Jira by JQL."""

from __future__ import annotations

from typing import Any

from agent.finetune.examples import FinetuneDataError
from agent.intake.epic import NOT_STORIES, parse_story
from agent.models import Story
from connectors.workspace import FORMAT, parse_workspace


def stories_from_workspace(ws: Any, *, ac_field_name: str = "Acceptance Criteria",
                           test_issue_type: str = "Test") -> list[Story]:
    """Every story-like issue of the workspace, parsed (criteria, approved cases, linked pages)."""
    skip = NOT_STORIES | {test_issue_type.lower()}
    stories = []
    for raw in ws.issues:
        fields = raw.get("fields") or {}
        kind = str((fields.get("issuetype") or {}).get("name", "")).lower()
        if kind in skip:
            continue
        parent = (fields.get("parent") or {}).get("key")
        stories.append(parse_story(ws, raw, epic_key=parent, ac_field_name=ac_field_name,
                                   test_issue_type=test_issue_type))
    return stories


def workspace_for_jql(source: Any, jql: str) -> Any:
    """A workspace read live from Jira: the issues `jql` finds, the approved Test issues linked to
    them and, when the source has Confluence, the rule pages they link to. `source` is a
    connectors.jira_source.JiraSource (connectors.jira_access builds it from the settings)."""
    info = source.server_info()
    fields = source.fields()
    issues = source.search(jql)
    if not issues:
        raise FinetuneDataError(f"the JQL found no issues: {jql}")
    known = {i["key"] for i in issues}
    # the source's own helpers, as workspace_for_epic uses them: linked tests (without casewright's
    # write-back output) and the pages the issues link to
    tests = source._linked_tests(issues, known=known)
    pages = source._pages(issues, {})
    doc = {
        "format": FORMAT,
        "jira": {"baseUrl": info.get("baseUrl") or source.url, "deploymentType": info.get("deploymentType", "")},
        "confluence": {"baseUrl": source.confluence.url} if getattr(source, "confluence", None) else {},
        "fields": fields,
        "issues": issues + [t for t in tests if t["key"] not in known],
        "pages": pages,
    }
    return parse_workspace(doc, origin=f"{source.url} (JQL: {jql})")

"""Turns raw Jira/Confluence data (a connectors.workspace.Workspace) into the case model:
an Epic, its Stories with parsed acceptance criteria and approved cases, and rule Pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.intake.criteria import extract
from agent.intake.history import StoryHistory
from agent.intake.linked_tests import existing_test
from agent.models import Epic, Finding, Page, Story, UATCase
from agent.renderers.jira_wiki import wiki_to_case
from connectors.errors import CasewrightError
from connectors.markup import storage_to_text, to_text
from connectors.workspace import Workspace, issue_type, not_an_epic

NOT_STORIES = {"epic", "sub-task", "subtask", "bug"}


class UnknownEpicError(CasewrightError):
    pass


@dataclass
class EpicBundle:
    """Everything the agent needs about one epic, already parsed."""

    epic: Epic
    stories: list[Story]
    pages: list[Page] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """What was read but could not be used (e.g. a linked test not in the house format)."""


def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    return issue.get("fields") or {}


def _name(obj: Any) -> str:
    return str((obj or {}).get("name", "")) if isinstance(obj, dict) else str(obj or "")


def _browse_url(ws: Workspace, key: str) -> str | None:
    base = (ws.jira or {}).get("baseUrl")
    return f"{base.rstrip('/')}/browse/{key}" if base else None


def _page_url(ws: Workspace, page: dict[str, Any]) -> str | None:
    base = (ws.confluence or {}).get("baseUrl")
    webui = ((page.get("_links") or {}).get("webui")) or ""
    if base and webui:
        return base.rstrip("/") + webui
    return base.rstrip("/") + f"/pages/viewpage.action?pageId={page['id']}" if base else None


def parse_page(ws: Workspace, raw: dict[str, Any]) -> Page:
    storage = (((raw.get("body") or {}).get("storage") or {}).get("value")) or ""
    labels = [str(label.get("name")) for label in
              (((raw.get("metadata") or {}).get("labels") or {}).get("results") or []) if label.get("name")]
    return Page(
        id=str(raw["id"]),
        title=str(raw.get("title", "")),
        space=str((raw.get("space") or {}).get("key", "")),
        labels=labels,
        text=storage_to_text(storage) if storage else "",
        url=_page_url(ws, raw),
        ancestors=[str(a.get("title", "")) for a in raw.get("ancestors") or []],
        updated=str((raw.get("version") or {}).get("when") or "") or None,
    )


def parse_approved_case(ws: Workspace, raw: dict[str, Any], story_key: str) -> UATCase | None:
    """A Test issue in the house format -> UATCase; None when its description isn't in that format."""
    f = _fields(raw)
    description = f.get("description")
    if isinstance(description, dict):
        description = to_text(description)
    if not description:
        return None
    try:
        case = wiki_to_case(str(description), key=raw["key"], summary=str(f.get("summary", "")),
                            priority=_name(f.get("priority")) or "Medium", labels=list(f.get("labels") or []))
    except (ValueError, KeyError):
        return None
    if not case.story_key:
        case = case.model_copy(update={"story_key": story_key})
    return case


def parse_story(ws: Workspace, raw: dict[str, Any], *, epic_key: str | None, ac_field_name: str,
                test_issue_type: str, ignored: list[Finding] | None = None) -> Story:
    f = _fields(raw)
    key = raw["key"]
    description_raw = f.get("description")
    description = to_text(description_raw)
    ac_field = ws.field_id(ac_field_name)
    ac_raw = f.get(ac_field) if ac_field else None
    ac_text = to_text(ac_raw) if ac_raw else ""
    criteria, parameters, endpoint = extract(key, description, ac_text, title=str(f.get("summary", "")))
    method, path = endpoint if endpoint else (None, None)
    approved = []
    existing = []
    history = StoryHistory(key, (raw.get("changelog") or {}).get("histories") or [], description=description,
                           ac_text=ac_text, ac_field=ac_field, ac_field_name=ac_field_name,
                           title=str(f.get("summary", "")))
    for test in ws.linked_issues(key, issue_type=test_issue_type):
        case = parse_approved_case(ws, test, key)
        if test.get("fields"):
            found = existing_test(test, case)
            if not found.own:
                found.criteria_then = history.changed_criteria(found.updated or found.created, criteria)
            existing.append(found)
        if case is not None:
            approved.append(case)
        elif ignored is not None:
            ignored.append(Finding(severity="info", code="unreadable-test", story_key=key, case_id=test["key"],
                                   message=f"{test['key']} is linked to {key} as a test but is not in the house "
                                           "format (Objective, Persona, Preconditions, Test Data, Steps); "
                                           "it was not used as an example"))
    page_ids = [str(p["id"]) for p in ws.pages_linked_from(key)]
    return Story(
        key=key,
        id=str(raw.get("id", "")),
        summary=str(f.get("summary", "")).strip(),
        description=description,
        issue_type=_name(f.get("issuetype")) or "Story",
        epic_key=epic_key,
        project=str((f.get("project") or {}).get("key") or key.split("-")[0]),
        labels=list(f.get("labels") or []),
        status=_name(f.get("status")),
        priority=_name(f.get("priority")) or None,
        updated=f.get("updated"),
        url=_browse_url(ws, key),
        criteria=criteria,
        parameters=parameters,
        method=method,
        endpoint=path,
        linked_pages=page_ids,
        approved_cases=approved,
        existing_tests=existing,
    )


def load_epic(ws: Workspace, epic_key: str, *, ac_field_name: str = "Acceptance Criteria",
              test_issue_type: str = "Test", story_keys: list[str] | None = None) -> EpicBundle:
    """Parse one epic with its stories (all of them, or `story_keys`) and the pages they use."""
    raw_epic = ws.issue(epic_key)
    if raw_epic is None:
        known = [i["key"] for i in ws.issues if _name(_fields(i).get("issuetype")).lower() == "epic"]
        hint = f"; epics in {ws.origin or 'the source'}: {', '.join(known[:10])}" if known else ""
        raise UnknownEpicError(f"unknown epic {epic_key}{hint}")
    if issue_type(raw_epic) != "epic":
        raise UnknownEpicError(not_an_epic(raw_epic, ws.field_id("Epic Link")))
    f = _fields(raw_epic)
    children = [
        c for c in ws.children(epic_key)
        if _name(_fields(c).get("issuetype")).lower() not in NOT_STORIES | {test_issue_type.lower()}
    ]
    if story_keys is not None:
        wanted = set(story_keys)
        unknown = sorted(wanted - {c["key"] for c in children})
        if unknown:
            raise UnknownEpicError(f"--stories names {', '.join(unknown)}, not in epic {epic_key}; "
                                   f"its stories: {', '.join(c['key'] for c in children) or 'none'}")
        children = [c for c in children if c["key"] in wanted]
    ignored: list[Finding] = []
    stories = [parse_story(ws, c, epic_key=epic_key, ac_field_name=ac_field_name,
                           test_issue_type=test_issue_type, ignored=ignored) for c in children]
    epic_pages = [p["id"] for p in ws.pages_linked_from(epic_key)]
    epic = Epic(
        key=epic_key,
        id=str(raw_epic.get("id", "")),
        summary=str(f.get("summary", "")).strip(),
        description=to_text(f.get("description")),
        project=str((f.get("project") or {}).get("key") or epic_key.split("-")[0]),
        labels=list(f.get("labels") or []),
        status=_name(f.get("status")),
        updated=f.get("updated"),
        url=_browse_url(ws, epic_key),
        story_keys=[s.key for s in stories],
        linked_pages=[str(p) for p in epic_pages],
    )
    wanted_pages = dict.fromkeys(epic.linked_pages + [p for s in stories for p in s.linked_pages])
    pages = [parse_page(ws, ws.page(pid)) for pid in wanted_pages if ws.page(pid)]
    return EpicBundle(epic=epic, stories=stories, pages=pages, findings=ignored)


def all_pages(ws: Workspace) -> list[Page]:
    return [parse_page(ws, p) for p in ws.pages]

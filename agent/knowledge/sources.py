"""The knowledge a workspace holds, as chunks: stories and their criteria, rule page sections
and the team's approved cases, each stamped with its source's fingerprint so that an unchanged
source is never parsed or embedded again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from agent.intake.epic import NOT_STORIES, parse_approved_case, parse_page, parse_story
from connectors.chunking import Chunk, approved_case_chunk, criterion_chunks, page_chunks, story_chunk
from connectors.workspace import Workspace, issue_type


def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    return issue.get("fields") or {}


CHUNKER_VERSION = "1"  # bump when chunking changes, so every source is parsed again


def _fingerprint(*parts: Any) -> str:
    raw = json.dumps([CHUNKER_VERSION, *parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


@dataclass
class Sources:
    """The raw sources of a workspace by kind, each with its fingerprint."""

    stories: dict[str, dict[str, Any]]
    tests: dict[str, tuple[dict[str, Any], str]]  # key -> (raw, linked story key)
    pages: dict[str, dict[str, Any]]
    fingerprints: dict[str, str]


def sources_of(ws: Workspace, ac_field_name: str, test_issue_type: str) -> Sources:
    test_type = test_issue_type.lower()
    ac_field = ws.field_id(ac_field_name)
    jira_base = (ws.jira or {}).get("baseUrl")
    wiki_base = (ws.confluence or {}).get("baseUrl")
    # issue -> issues linked to it, either direction, built once (not one scan per test)
    links: dict[str, list[str]] = {}
    for issue in ws.issues:
        for link in _fields(issue).get("issuelinks") or []:
            other = (link.get("inwardIssue") or link.get("outwardIssue") or {}).get("key")
            if other:
                links.setdefault(issue["key"], []).append(other)
                links.setdefault(other, []).append(issue["key"])
    stories, tests, pages, fps = {}, {}, {}, {}
    for raw in ws.issues:
        kind = issue_type(raw)
        key = raw["key"]
        if kind == test_type:
            linked = [k for k in dict.fromkeys(links.get(key, []))
                      if ws.issue(k) is not None and issue_type(ws.issue(k)) != test_type]
            story_key = linked[0] if linked else ""
            story_raw = ws.issue(story_key) if story_key else None
            tests[key] = (raw, story_key)
            fps[key] = _fingerprint("test", raw, story_key, ws.epic_of(story_raw) if story_raw else "", jira_base)
        elif kind not in NOT_STORIES:
            stories[key] = raw
            fps[key] = _fingerprint("story", raw, ac_field, jira_base, ws.remote_links.get(key))
    for raw in ws.pages:
        pid = str(raw["id"])
        pages[pid] = raw
        fps[pid] = _fingerprint("page", raw, wiki_base)
    return Sources(stories, tests, pages, fps)


def workspace_chunks(ws: Workspace, *, ac_field_name: str = "Acceptance Criteria",
                     test_issue_type: str = "Test", skip_sources: set[str] | frozenset = frozenset(),
                     sources: Sources | None = None) -> list[Chunk]:
    """Every chunk the workspace yields: stories and their criteria, rule page sections, and the
    approved test cases (issues of `test_issue_type` in the house format). Sources named in
    `skip_sources` are not parsed at all. Each chunk carries its source's fingerprint."""
    src = sources or sources_of(ws, ac_field_name, test_issue_type)
    chunks: list[Chunk] = []

    def stamp(items: list[Chunk], source_id: str) -> list[Chunk]:
        fp = src.fingerprints[source_id]
        return [replace(c, source_hash=fp) for c in items]

    for key, raw in src.stories.items():
        if key in skip_sources:
            continue
        story = parse_story(ws, raw, epic_key=ws.epic_of(raw), ac_field_name=ac_field_name,
                            test_issue_type=test_issue_type)
        data = story.model_dump(exclude={"approved_cases"})
        chunks += stamp([story_chunk(data)] + criterion_chunks(data, [c.model_dump() for c in story.criteria]), key)
    base = (ws.jira or {}).get("baseUrl")
    for key, (raw, story_key) in src.tests.items():
        if key in skip_sources:
            continue
        case = parse_approved_case(ws, raw, story_key)
        if case is None:
            continue
        f = _fields(raw)
        project = str((f.get("project") or {}).get("key") or key.split("-")[0])
        story_raw = ws.issue(case.story_key) if case.story_key else None
        chunks += stamp([approved_case_chunk(
            case.model_dump(), project=project, epic=(ws.epic_of(story_raw) or "") if story_raw else "",
            url=f"{base.rstrip('/')}/browse/{key}" if base else "", updated=str(f.get("updated") or ""))], key)
    for pid, raw in src.pages.items():
        if pid in skip_sources:
            continue
        chunks += stamp(page_chunks(parse_page(ws, raw).model_dump()), pid)
    return chunks


def workspace_scope(ws: Workspace) -> list[str]:
    """The projects (and Confluence spaces) a full snapshot of `ws` speaks for."""
    scope = {str(p.get("key")) for p in ws.projects if p.get("key")}
    for issue in ws.issues:
        scope.add(str((_fields(issue).get("project") or {}).get("key") or issue["key"].split("-")[0]))
    for page in ws.pages:
        space = page.get("space")
        key = space.get("key") if isinstance(space, dict) else space
        if key:
            scope.add(str(key))
    return sorted(s for s in scope if s)


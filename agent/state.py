"""The graph's state. Each node reads what it needs and returns only what it changes.

Lists that parallel branches write to (cases, findings) merge through reducers; the
per-story maps merge by key."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from typing_extensions import TypedDict

from agent.models import CriterionCoverage, Epic, Finding, Flow, Page, Story, UATCase
from agent.usage import add_usage


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


def replace_cases(left: list[UATCase] | None, right: list[UATCase] | dict | None) -> list[UATCase]:
    """Append cases; a {'replace_story': KEY, 'cases': [...]} update swaps one story's cases (revise)."""
    left = list(left or [])
    if isinstance(right, dict):
        keys = set(right.get("replace_stories", []))
        return [c for c in left if c.story_key not in keys] + list(right.get("cases", []))
    return left + list(right or [])


def replace_findings(left: list[Finding] | None, right: list[Finding] | dict | None) -> list[Finding]:
    """Append findings; a {'replace_codes': [...], 'findings': [...]} update swaps review findings."""
    left = list(left or [])
    if isinstance(right, dict):
        codes = set(right.get("replace_codes", []))
        stories = right.get("replace_stories")
        kept = [f for f in left if f.code not in codes and (stories is None or f.story_key not in stories)]
        return kept + list(right.get("findings", []))
    return left + list(right or [])


class InputState(TypedDict, total=False):
    epic_key: str
    run_id: str


class State(InputState, total=False):
    epic: Epic
    stories: list[Story]
    pages: list[Page]
    flows: list[Flow]
    scope: list[str]
    """Story keys in scope, in the order the plan chose."""

    retrieved: Annotated[dict[str, list[dict[str, Any]]], merge_dicts]
    """Per story key: knowledge chunks retrieved for it (id, title, text, kind, url, score)."""

    cases: Annotated[list[UATCase], replace_cases]
    findings: Annotated[list[Finding], replace_findings]
    coverage: list[CriterionCoverage]
    usage: Annotated[dict[str, Any], merge_dicts]
    """Per node: calls, tokens, seconds."""

    revise_round: int
    llm_usage: Annotated[dict[str, dict[str, int]], add_usage]
    """Language-model calls and tokens per node (agent/usage.py), summed across branches."""
    revise_targets: dict[str, list[Finding]]
    """The stories the current revise round rewrites, with the findings each must resolve."""
    approval: dict[str, Any]
    """The person's decision (agent/approval.py): status not-required, approved or rejected, reason, by, at."""
    write_results: dict[str, Any]
    report_paths: list[str]
    summary: dict[str, Any]


class StoryTask(TypedDict, total=False):
    """What one generate branch receives (LangGraph Send)."""

    story: Story
    epic_key: str
    retrieved: list[dict[str, Any]]
    feedback: list[Finding]

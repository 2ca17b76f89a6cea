"""The graph's state. Each node reads what it needs and returns only what it changes.

Lists that parallel branches write to (cases, findings) merge through reducers; the
per-story maps merge by key."""

from __future__ import annotations

import time
from typing import Annotated, Any

from typing_extensions import TypedDict

from agent.configuration import Configuration
from agent.llm.usage import add_usage, usage_stats
from agent.models import CaseSet, CriterionCoverage, CriterionLink, Epic, Finding, Flow, Page, StaleTest, Story, UATCase


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
    """Story keys in scope, in the order the plan chose (unset until the plan has run)."""

    retrieved: Annotated[dict[str, list[dict[str, Any]]], merge_dicts]
    """Per story key: knowledge chunks retrieved for it (id, title, text, kind, url, score)."""

    links: dict[str, list[CriterionLink]]
    """Per story key: which criteria its existing tests verify (agent/review/mapping.py)."""
    stale_tests: list[StaleTest]
    coverage_mode: str
    """gaps or all, as the run resolved it (configuration, else the house template)."""

    cases: Annotated[list[UATCase], replace_cases]
    findings: Annotated[list[Finding], replace_findings]
    coverage: list[CriterionCoverage]
    usage: Annotated[dict[str, Any], merge_dicts]
    """Per node: calls, tokens, seconds."""

    revise_round: int
    llm_usage: Annotated[dict[str, dict[str, int]], add_usage]
    """Language-model calls and tokens per node (agent/llm/usage.py), summed across branches."""
    revise_targets: dict[str, list[Finding]]
    """The stories the current revise round rewrites, with the findings each must resolve."""
    approval: dict[str, Any]
    """The person's decision (agent/nodes/approve.py): status not-required, approved or rejected, reason, by, at."""
    write_results: dict[str, Any]
    report_paths: list[str]
    summary: dict[str, Any]


class StoryTask(TypedDict, total=False):
    """What one generate branch receives (LangGraph Send)."""

    story: Story
    epic_key: str
    retrieved: list[dict[str, Any]]
    feedback: list[Finding]
    covered: list[str] | None
    """Gap mode: the criterion ids the story's existing tests cover (None: generate every case)."""


def node_usage(node: str, started: float, calls: int = 0, **extra: Any) -> dict[str, Any]:
    """A node's `usage` update: seconds since `started` (time.perf_counter) and model calls."""
    return {node: {"seconds": round(time.perf_counter() - started, 4), "calls": calls, **extra}}


def candidate_keys(state: State) -> list[str]:
    """The stories the nodes before the plan work on: the plan's scope once it is known, else every
    story loaded (the rules' scope). The plan runs beside the generate branches (agent/graph.py), so
    assess, map_tests, retrieve and generate cover every story and `scope` drops what the plan
    leaves out."""
    scope = state.get("scope")
    return list(scope) if scope is not None else [s.key for s in state.get("stories") or []]


def story_cases(state: State, story_key: str) -> list[UATCase]:
    return [c for c in state.get("cases") or [] if c.story_key == story_key]


def case_set(state: State, cfg: Configuration, template_name: str) -> CaseSet:
    """The run's result as the CaseSet the renderers and the write-back read."""
    stories = [s for s in state["stories"] if s.key in state.get("scope", [])]
    cases = state.get("cases") or []
    findings = state.get("findings") or []
    cs = CaseSet(
        epic=state["epic"], stories=stories, cases=cases, findings=findings,
        coverage=state.get("coverage") or [], flows=state.get("flows") or [], run_id=state.get("run_id", ""),
        links=[lk for s in stories for lk in (state.get("links") or {}).get(s.key, [])],
        stale_tests=[t for t in state.get("stale_tests") or [] if t.story_key in {s.key for s in stories}],
        generator=cfg.model, template=template_name,
    )
    cs.stats = {
        "stories": len(stories),
        "criteria": len(cs.criteria),
        "cases": len(cases),
        "coverage": round(cs.coverage_ratio, 4),
        "findings": len(findings),
        "errors": sum(1 for f in findings if f.severity == "error"),
        "low_confidence": sum(1 for c in cases if c.confidence == "low"),
    }
    if cs.links or cs.stale_tests:
        for status in ("covered", "gap-filled", "stale", "uncovered"):
            cs.stats[f"criteria_{status.replace('-', '_')}"] = sum(1 for c in cs.coverage if c.status == status)
    cs.stats.update(usage_stats(state.get("llm_usage"), cfg.llm_option("price_input_per_mtok"),
                                cfg.llm_option("price_output_per_mtok")))
    if state.get("revise_round"):
        cs.stats["revise_rounds"] = int(state["revise_round"])
    return cs

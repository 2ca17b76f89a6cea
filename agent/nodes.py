"""The graph's nodes. Each takes the state (or one story's task) and the run config and returns
only the keys it changes."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Send

from agent.configuration import Configuration
from agent.criteria import assess_story
from agent.generator import generate_flow_cases, generate_for_story
from agent.intake import load_epic
from agent.models import CaseSet, Finding
from agent.planning import in_scope, plan_flows
from agent.review import review_cases
from agent.sources import open_workspace
from agent.state import State, StoryTask
from agent.template import HouseTemplate, load_template
from agent.usage import usage_stats
from connectors.errors import CasewrightError

REVIEW_CODES = ["uncovered-criterion", "malformed-case", "duplicate-case", "untraceable-case", "duplicate-id"]


class InjectedFailure(RuntimeError):
    """Raised by the `fail_at` test hook to simulate a crash inside a node."""


def _maybe_fail(cfg: Configuration, node: str, story_key: str | None = None) -> None:
    if not cfg.fail_at:
        return
    where, _, key = cfg.fail_at.partition(":")
    if where == node and (not key or key == story_key):
        raise InjectedFailure(f"injected failure in {node} {story_key or ''}".strip())


@lru_cache(maxsize=8)
def _template(path: str | None) -> HouseTemplate:
    return load_template(path)


def template_for(cfg: Configuration) -> HouseTemplate:
    return _template(cfg.template_path)


def _timed(node: str, started: float, calls: int = 0) -> dict[str, Any]:
    return {node: {"seconds": round(time.perf_counter() - started, 4), "calls": calls}}


# -- plan -> gather -> generate (per story) -> end_to_end -> review -> report ------------------------

def plan(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Read the epic's outline and decide the stories in scope and the end-to-end flows."""
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    _maybe_fail(cfg, "plan")
    ws = open_workspace(cfg.source, state["epic_key"])
    bundle = load_epic(ws, state["epic_key"], ac_field_name=cfg.ac_field_name,
                       test_issue_type=cfg.test_issue_type, story_keys=cfg.story_keys)
    if not bundle.stories:
        raise CasewrightError(f"epic {state['epic_key']} has no stories to test in {cfg.source}")
    return {
        "epic": bundle.epic,
        "stories": bundle.stories,
        "pages": bundle.pages,
        "scope": in_scope(bundle.stories),
        "flows": plan_flows(bundle.stories),
        "findings": bundle.findings,
        "usage": _timed("plan", t0),
    }


def gather(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Assess each story's requirement quality: missing or vague criteria become findings."""
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    _maybe_fail(cfg, "gather")
    findings: list[Finding] = []
    for story in state["stories"]:
        if story.key in state["scope"]:
            findings += assess_story(story.key, story.criteria, story.description)
    return {"findings": findings, "usage": _timed("gather", t0)}


def fan_out(state: State) -> list[Send]:
    """One generate branch per story in scope."""
    retrieved = state.get("retrieved") or {}
    return [
        Send("generate", StoryTask(story=s, epic_key=state["epic_key"], retrieved=retrieved.get(s.key, [])))
        for s in state["stories"] if s.key in state["scope"]
    ]


def generate(task: StoryTask, config: RunnableConfig) -> dict[str, Any]:
    """Cases for one story (runs in parallel across stories)."""
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    story = task["story"]
    _maybe_fail(cfg, "generate", story.key)
    result = generate_for_story(story, template_for(cfg), task.get("retrieved"))
    return {"cases": result.cases, "findings": result.findings,
            "usage": {f"generate:{story.key}": _timed("generate", t0)["generate"]}}


def end_to_end(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Journeys across stories, built from each story's positive cases."""
    cfg = Configuration.from_runnable_config(config)
    _maybe_fail(cfg, "end_to_end")
    cases = generate_flow_cases(state.get("flows") or [], state["stories"], state.get("cases") or [],
                                template_for(cfg), state["epic_key"])
    return {"cases": cases}


def review(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Coverage of every criterion, template conformance, duplicates."""
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    _maybe_fail(cfg, "review")
    findings, table = review_cases(state["stories"], state.get("cases") or [], template_for(cfg))
    return {"findings": {"replace_codes": REVIEW_CODES, "findings": findings}, "coverage": table,
            "usage": _timed("review", t0)}


def build_case_set(state: State, cfg: Configuration) -> CaseSet:
    stories = [s for s in state["stories"] if s.key in state.get("scope", [])]
    cases = state.get("cases") or []
    findings = state.get("findings") or []
    cs = CaseSet(
        epic=state["epic"], stories=stories, cases=cases, findings=findings,
        coverage=state.get("coverage") or [], flows=state.get("flows") or [], run_id=state.get("run_id", ""),
        generator=cfg.model, template=template_for(cfg).name,
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
    # language-model calls, tokens per node and the cost estimate (agent/usage.py); empty for rules
    cs.stats.update(usage_stats(state.get("llm_usage"), cfg.llm.get("price_input_per_mtok"),
                                cfg.llm.get("price_output_per_mtok")))
    if state.get("revise_round"):
        cs.stats["revise_rounds"] = int(state["revise_round"])
    return cs


def report(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Write the outputs in the requested formats and summarise the run."""
    from agent.renderers import write_outputs

    cfg = Configuration.from_runnable_config(config)
    _maybe_fail(cfg, "report")
    cs = build_case_set(state, cfg)
    paths = write_outputs(cs, cfg.formats, Path(cfg.out_dir)) if cfg.formats else []
    summary = dict(cs.stats)
    summary["epic"] = state["epic_key"]
    summary["run_id"] = state.get("run_id", "")
    if state.get("write_results"):
        summary["write_back"] = state["write_results"]
    return {"report_paths": [str(p) for p in paths], "summary": summary}

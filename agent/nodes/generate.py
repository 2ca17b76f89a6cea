"""generate: one branch per story in scope (LangGraph Send, bounded by the run's
max_concurrency) writes that story's cases: by the configured model, or by the deterministic
generator. A model whose answers stay invalid, or whose API stays unavailable, hands the story
to the deterministic generator with a finding (or, with llm_unavailable = raise, stops the run
so a background job can retry it from its checkpoint). In gap mode the model is asked only for the
criteria existing tests leave open and the probes they do not exercise (agent/generation/gaps.py)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.context import RunContext
from agent.generation.gaps import gap_cases, gap_story
from agent.generation.rules import generate_for_story
from agent.llm.prompts import split_retrieved
from agent.models import Finding, Story, UATCase
from agent.review.coverage import existing_coverage
from agent.state import State, StoryTask, candidate_keys, node_usage


def fan_out(state: State) -> list[Send]:
    """The plan, then one generate branch per candidate story with what retrieval found for it, all in
    one step. The plan goes first, so it has a place before the branches that fill the run's
    concurrency (agent/graph.py)."""
    retrieved = state.get("retrieved") or {}
    gaps = state.get("coverage_mode") == "gaps"
    links = [lk for story_links in (state.get("links") or {}).values() for lk in story_links]
    existing = existing_coverage(links, state.get("stale_tests") or []) if gaps else {}
    tasks = [Send("plan", {"epic": state["epic"], "stories": state["stories"]})]
    scope = set(candidate_keys(state))
    for s in state["stories"]:
        if s.key not in scope:
            continue
        covered = sorted(c.id for c in s.criteria if existing.get(c.id))
        tasks.append(Send("generate", StoryTask(story=s, epic_key=state["epic_key"], retrieved=retrieved.get(s.key, []),
                                                covered=covered or None)))
    return tasks


def only_gaps(task: StoryTask, cases: list[UATCase]) -> tuple[list[UATCase], list[Finding]]:
    """Gap mode: the cases the story's existing tests leave to write, and a note of what was skipped."""
    covered = task.get("covered")
    if not covered:
        return cases, []
    story = task["story"]
    kept = gap_cases(cases, set(covered), story.existing_tests)
    open_ids = [c.id for c in story.criteria if c.id not in covered]
    if not kept:
        message = (f"{story.key} gets no new cases: its existing tests cover every criterion "
                   f"({', '.join(covered)}) and the values its cases would test")
    else:
        message = (f"{story.key}: generated only for what existing tests leave open "
                   f"({', '.join(open_ids) or 'values not yet tested'}); {len(cases) - len(kept)} case(s) "
                   f"for {', '.join(covered)} were not generated again")
    return kept, [Finding(severity="info", code="gap-mode", story_key=story.key, message=message)]


def generate(task: StoryTask, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    ctx = runtime.context
    story = task["story"]
    ctx.config.fail_if_asked("generate", story.key)
    retrieved = task.get("retrieved") or []
    gen = ctx.generator
    if gen is None:
        result = generate_for_story(story, ctx.template, retrieved)
        cases, notes = only_gaps(task, result.cases)
        return {"cases": cases, "findings": result.findings + notes,
                "usage": node_usage(f"generate:{story.key}", t0)}

    def fallback(_: Story) -> list[UATCase]:
        return generate_for_story(story, ctx.template, retrieved).cases  # the whole story; only_gaps filters

    asked, probes = story, []
    if task.get("covered"):  # gap mode: the prompt names only what existing tests leave open
        asked, probes = gap_story(story, set(task["covered"]), fallback(story))
        if asked is None:
            cases, notes = only_gaps(task, [])
            return {"cases": cases, "findings": notes, "usage": node_usage(f"generate:{story.key}", t0)}
    rules, examples = split_retrieved(retrieved)
    with ctx.story_slot():
        outcome = gen.generate_story(asked, rules=rules, examples=examples, fallback=fallback,
                                     on_unavailable=ctx.config.llm_unavailable, probes=probes)
    cases, notes = only_gaps(task, outcome.cases)
    return {"cases": cases, "findings": outcome.findings + notes, "llm_usage": outcome.usage,
            "usage": node_usage(f"generate:{story.key}", t0, outcome.usage.get("generate", {}).get("calls", 0))}

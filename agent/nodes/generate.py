"""generate: one branch per story in scope (LangGraph Send, bounded by the run's
max_concurrency) writes that story's cases: by the configured model, or by the deterministic
generator. A model whose answers stay invalid, or whose API stays unavailable, hands the story
to the deterministic generator with a finding (or, with llm_unavailable = raise, stops the run
so a background job can retry it from its checkpoint)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.context import RunContext
from agent.generation.rules import generate_for_story
from agent.llm.prompts import split_retrieved
from agent.models import Story, UATCase
from agent.state import State, StoryTask, node_usage


def fan_out(state: State) -> list[Send]:
    """One generate branch per story in scope, with what retrieval found for it."""
    retrieved = state.get("retrieved") or {}
    return [Send("generate", StoryTask(story=s, epic_key=state["epic_key"], retrieved=retrieved.get(s.key, [])))
            for s in state["stories"] if s.key in state["scope"]]


def generate(task: StoryTask, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    ctx = runtime.context
    story = task["story"]
    ctx.config.fail_if_asked("generate", story.key)
    retrieved = task.get("retrieved") or []
    gen = ctx.generator
    if gen is None:
        result = generate_for_story(story, ctx.template, retrieved)
        return {"cases": result.cases, "findings": result.findings,
                "usage": node_usage(f"generate:{story.key}", t0)}

    def fallback(s: Story) -> list[UATCase]:
        return generate_for_story(s, ctx.template, retrieved).cases

    rules, examples = split_retrieved(retrieved)
    outcome = gen.generate_story(story, rules=rules, examples=examples, fallback=fallback,
                                 on_unavailable=ctx.config.llm_unavailable)
    return {"cases": outcome.cases, "findings": outcome.findings, "llm_usage": outcome.usage,
            "usage": node_usage(f"generate:{story.key}", t0, outcome.usage.get("generate", {}).get("calls", 0))}

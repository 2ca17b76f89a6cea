"""assess: judge each story's requirements: missing or vague criteria become findings."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.intake.quality import assess_story
from agent.models import Finding
from agent.state import State, candidate_keys, node_usage


def assess(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    runtime.context.config.fail_if_asked("assess")
    scope = set(candidate_keys(state))
    findings: list[Finding] = []
    for story in state["stories"]:
        if story.key in scope:
            findings += assess_story(story.key, story.criteria, story.description)
    return {"findings": findings, "usage": node_usage("assess", t0)}

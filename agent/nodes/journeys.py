"""journeys: end-to-end cases across the stories of each planned flow, built from each story's
positive cases."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.generation.journeys import generate_flow_cases
from agent.state import State


def journeys(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    ctx.config.fail_if_asked("journeys")
    return {"cases": generate_flow_cases(state.get("flows") or [], state["stories"], state.get("cases") or [],
                                         ctx.template, state["epic_key"])}

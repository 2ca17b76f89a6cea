"""plan: decide the stories in scope and the end-to-end flows that chain them.

By rules (agent/generation/planning.py) every story is in scope and flows follow the links where
one story's outcome is another's precondition (agent/generation/story_links.py); with a model
configured, the model chooses both, and an unusable answer keeps the rules' plan with a finding.
A model's flow is kept only where each story after the first starts from what an earlier one
produced (the link the model states, or else the one the rules find); the others are reported."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.generation.planning import in_scope, plan_flows
from agent.generation.story_links import checked_flows
from agent.models import Finding
from agent.state import State, node_usage


def plan(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    runtime.context.config.fail_if_asked("plan")
    stories = state["stories"]
    scope = in_scope(stories)
    gen = runtime.context.generator
    if gen is None:
        return {"scope": scope, "flows": plan_flows(stories), "usage": node_usage("plan", t0)}
    outcome = gen.plan(state["epic"], [s for s in stories if s.key in scope])
    findings = list(outcome.findings)
    if outcome.story_keys:
        scope = outcome.story_keys
        if outcome.fell_back:
            flows = plan_flows(stories)
        else:  # the rules' plan is only worked out when the model's is not used (it runs beside the branches)
            flows, dropped = checked_flows(outcome.flows, [s for s in stories if s.key in scope])
            findings += [Finding(severity="info", code="flow-unlinked",
                                 message=f"The model's flow {why}; it is not written as a journey.") for why in dropped]
    else:
        flows = plan_flows(stories)
        findings.append(Finding(severity="warning", code="llm-plan-fallback",
                                message="The model's plan left no story in scope; every story stays in scope "
                                        "and the flows come from the rules."))
    return {"scope": scope, "flows": flows, "findings": findings, "llm_usage": outcome.usage,
            "usage": node_usage("plan", t0, outcome.usage.get("plan", {}).get("calls", 0))}

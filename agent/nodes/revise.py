"""revise: a revise round, when a model is configured.

    review --(fixable findings, rounds left)--> revise -> revise_story (one per story) -> review

- revise picks the stories whose findings a rewrite can fix, and only those, for at most
  Configuration.max_revise_rounds rounds; a reviewer's rejection adds one round for every story
  in scope, with the reason. Findings left after the last round stay in the report.
- revise_story: one branch per story (LangGraph Send, bounded by max_concurrency): the model
  rewrites that story's cases against its findings.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.context import RunContext
from agent.llm.prompts import rules_from_retrieved
from agent.models import Story, UATCase
from agent.nodes.review import fixable_by_story
from agent.state import State, node_usage


def revise(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Open a revise round: which stories, with which findings (and the reviewer's reason)."""
    approval = dict(state.get("approval") or {})
    targets = fixable_by_story(state)
    update: dict[str, Any] = {"revise_round": int(state.get("revise_round") or 0) + 1}
    if approval.get("status") == "rejected":
        for key in state.get("scope") or []:
            targets.setdefault(key, [])
        approval["status"] = "revising"
        update["approval"] = approval
    update["revise_targets"] = targets
    return update


def fan_out_revisions(state: State) -> list[Send] | list[str]:
    """One revise_story branch per target story; straight back to review when there is none."""
    stories = {s.key: s for s in state.get("stories") or []}
    cases = state.get("cases") or []
    retrieved = state.get("retrieved") or {}
    approval = state.get("approval") or {}
    reason = approval.get("reason") if approval.get("status") == "revising" else None
    sends = []
    for key, findings in (state.get("revise_targets") or {}).items():
        story = stories.get(key)
        if story is None:
            continue
        sends.append(Send("revise_story", {
            "story": story, "findings": findings, "reason": reason, "retrieved": retrieved.get(key, []),
            "previous": [c for c in cases if c.story_key == key], "round": state.get("revise_round", 1)}))
    return sends or ["review"]


def revise_story(task: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The model rewrites one story's cases against its findings; journeys that start at it are kept."""
    t0 = time.perf_counter()
    gen = runtime.context.generator
    if gen is None:
        return {}
    story: Story = task["story"]
    previous: list[UATCase] = task.get("previous") or []
    own = [c for c in previous if c.kind != "end_to_end" or c.criterion_ids and
           all(cid.startswith(story.key + "/") for cid in c.criterion_ids)]
    journeys = [c for c in previous if c not in own]
    with runtime.context.story_slot():
        outcome = gen.revise_story(story, own, task.get("findings") or [],
                                   rules=rules_from_retrieved(task.get("retrieved")), reviewer=task.get("reason"))
    findings = [f.model_copy(update={"message": f"Round {task.get('round', 1)}: {f.message}"}) for f in outcome.findings]
    return {"cases": {"replace_stories": [story.key], "cases": [*outcome.cases, *journeys]},
            "findings": findings, "llm_usage": outcome.usage,
            "usage": node_usage(f"revise:{story.key}", t0, outcome.usage.get("revise", {}).get("calls", 0))}

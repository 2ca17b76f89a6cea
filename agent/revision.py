"""Review with groundedness, and the revise loop.

    ... -> review --(findings to fix, a model, rounds left)--> revise -> revise_story (per story) -> review
               \\--(otherwise)--> approval -> ...

- review: the foundation's checks (coverage, template conformance, duplicates) plus groundedness
  (agent/grounding_check.py): a concrete value a case states must appear in the story or a source
  retrieved for it, else `unsupported-value`.
- revise: starts one round: picks the stories that have findings the generator can fix, and only
  those, at most Configuration.max_revise_rounds rounds (a reviewer's rejection adds one round for
  every story in scope, with the reason). Findings left after the last round stay in the report.
- revise_story: one branch per story (LangGraph Send, bounded by max_concurrency): the model
  rewrites that story's cases against its findings.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Send

from agent import nodes
from agent.configuration import Configuration
from agent.grounding_check import CODE as UNSUPPORTED, check_grounding
from agent.llm_nodes import generator_for, rules_from_retrieved
from agent.models import Finding, Story, UATCase
from agent.state import State

# Findings a generator can act on by rewriting a story's cases.
FIXABLE = {"uncovered-criterion", "malformed-case", "duplicate-case", "duplicate-id", "untraceable-case",
           UNSUPPORTED}
GROUNDING_CODES = [UNSUPPORTED]


def _story_sources(state: State, story: Story) -> list[str]:
    """The texts a story's cases may draw values from: retrieved chunks and the pages it links to."""
    texts = [str(c.get("text", "")) for c in (state.get("retrieved") or {}).get(story.key, [])]
    linked = set(story.linked_pages)
    epic = state.get("epic")
    if epic is not None:
        linked |= set(epic.linked_pages)
        texts += [epic.summary, epic.description]
    texts += [p.text for p in state.get("pages") or [] if p.id in linked]
    return texts


def grounding_findings(state: State) -> list[Finding]:
    scope = set(state.get("scope") or [])
    cases = state.get("cases") or []
    findings: list[Finding] = []
    for story in state.get("stories") or []:
        if story.key not in scope:
            continue
        mine = [c for c in cases if c.story_key == story.key and c.kind != "end_to_end"]
        if mine:
            findings += check_grounding(story, mine, _story_sources(state, story))
    return findings


def review(state: State, config: RunnableConfig) -> dict[str, Any]:
    """The foundation's review plus groundedness."""
    result = nodes.review(state, config)
    update = result.get("findings")
    if isinstance(update, dict):
        update["replace_codes"] = list(dict.fromkeys([*update.get("replace_codes", []), *GROUNDING_CODES]))
        update["findings"] = [*update.get("findings", []), *grounding_findings(state)]
    return result


def _fixable_by_story(state: State) -> dict[str, list[Finding]]:
    scope = set(state.get("scope") or [])
    kinds = {c.id: c.kind for c in state.get("cases") or []}
    by_story: dict[str, list[Finding]] = {}
    for f in state.get("findings") or []:
        if f.code not in FIXABLE or not f.story_key or f.story_key not in scope:
            continue
        if f.case_id and kinds.get(f.case_id) == "end_to_end":
            continue  # journeys are rebuilt from the stories' cases, not revised on their own
        by_story.setdefault(f.story_key, []).append(f)
    return by_story


def after_review(state: State, config: RunnableConfig) -> str:
    """'revise' while a model is configured, findings are fixable and rounds are left; else 'approval'."""
    cfg = Configuration.from_runnable_config(config)
    if generator_for(cfg) is None:
        return "approval"
    if (state.get("approval") or {}).get("status") == "rejected":
        return "revise"
    if int(state.get("revise_round") or 0) >= cfg.max_revise_rounds:
        return "approval"
    return "revise" if _fixable_by_story(state) else "approval"


def revise(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Open a revise round: which stories, with which findings (and the reviewer's reason)."""
    approval = dict(state.get("approval") or {})
    targets = _fixable_by_story(state)
    update: dict[str, Any] = {"revise_round": int(state.get("revise_round") or 0) + 1}
    if approval.get("status") == "rejected":
        for key in state.get("scope") or []:
            targets.setdefault(key, [])
        approval["status"] = "revising"
        update["approval"] = approval
    update["revise_targets"] = targets
    return update


def fan_out_revisions(state: State) -> list[Send] | list[str]:
    stories = {s.key: s for s in state.get("stories") or []}
    cases = state.get("cases") or []
    retrieved = state.get("retrieved") or {}
    reason = (state.get("approval") or {}).get("reason") if (state.get("approval") or {}).get("status") == "revising" else None
    sends = []
    for key, findings in (state.get("revise_targets") or {}).items():
        story = stories.get(key)
        if story is None:
            continue
        sends.append(Send("revise_story", {
            "story": story, "findings": findings, "reason": reason, "retrieved": retrieved.get(key, []),
            "previous": [c for c in cases if c.story_key == key], "round": state.get("revise_round", 1)}))
    return sends or ["review"]  # nothing to rewrite after all: straight back to review (then approval)


def revise_story(task: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
    """The model rewrites one story's cases against its findings; journeys that start at it are kept."""
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    gen = generator_for(cfg)
    story: Story = task["story"]
    previous: list[UATCase] = task.get("previous") or []
    own = [c for c in previous if c.kind != "end_to_end" or c.criterion_ids and
           all(cid.startswith(story.key + "/") for cid in c.criterion_ids)]
    journeys = [c for c in previous if c not in own]
    if gen is None:
        return {}
    outcome = gen.revise_story(story, own, task.get("findings") or [], rules=rules_from_retrieved(task.get("retrieved")),
                               reviewer=task.get("reason"))
    findings = [f.model_copy(update={"message": f"Round {task.get('round', 1)}: {f.message}"}) for f in outcome.findings]
    return {"cases": {"replace_stories": [story.key], "cases": [*outcome.cases, *journeys]},
            "findings": findings, "llm_usage": outcome.usage,
            "usage": {f"revise:{story.key}": {"seconds": round(time.perf_counter() - t0, 4),
                                              "calls": outcome.usage.get("revise", {}).get("calls", 0)}}}

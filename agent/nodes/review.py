"""review: every criterion covered, cases in the house format, no duplicates, and every
concrete value a case states found in the story or a source retrieved for it (groundedness).
Then the router: back through revise while a model can fix findings and rounds are left, else on
to approval."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.models import Finding, Story, UATCase
from agent.review.coverage import REVIEW_CODES, review_cases
from agent.review.groundedness import CODE as UNSUPPORTED
from agent.review.groundedness import check_grounding
from agent.state import State, node_usage

FIXABLE = {*REVIEW_CODES, UNSUPPORTED}
"""Findings a generator can act on by rewriting a story's cases."""


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


def _grounding_findings(state: State) -> list[Finding]:
    scope = set(state.get("scope") or [])
    by_story: dict[str, list[UATCase]] = {}
    for c in state.get("cases") or []:  # grouped once: a run of 1,000 stories has 10,000 cases
        if c.kind != "end_to_end":
            by_story.setdefault(c.story_key, []).append(c)
    findings: list[Finding] = []
    memo: dict[str, object] = {}  # what each distinct part of a case states, read once per pass
    for story in state.get("stories") or []:
        mine = by_story.get(story.key) if story.key in scope else None
        if mine:
            findings += check_grounding(story, mine, _story_sources(state, story), memo)
    return findings


def review(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    runtime.context.config.fail_if_asked("review")
    links = [lk for story_links in (state.get("links") or {}).values() for lk in story_links]
    findings, table = review_cases(state["stories"], state.get("cases") or [], runtime.context.template,
                                   links, state.get("stale_tests") or [])
    findings += _grounding_findings(state)
    return {"findings": {"replace_codes": sorted(FIXABLE), "findings": findings}, "coverage": table,
            "usage": node_usage("review", t0)}


def fixable_by_story(state: State) -> dict[str, list[Finding]]:
    """Per story in scope, the findings a rewrite of its cases can fix (journeys are rebuilt from
    the stories' cases, not revised on their own)."""
    scope = set(state.get("scope") or [])
    kinds = {c.id: c.kind for c in state.get("cases") or []}
    by_story: dict[str, list[Finding]] = {}
    for f in state.get("findings") or []:
        if f.code not in FIXABLE or not f.story_key or f.story_key not in scope:
            continue
        if f.case_id and kinds.get(f.case_id) == "end_to_end":
            continue
        by_story.setdefault(f.story_key, []).append(f)
    return by_story


def after_review(state: State, runtime: Runtime[RunContext]) -> str:
    """'revise' while a model is configured, findings are fixable and rounds are left (or a
    reviewer rejected the run); else 'approve'."""
    if runtime.context.generator is None:
        return "approve"
    if (state.get("approval") or {}).get("status") == "rejected":
        return "revise"
    if int(state.get("revise_round") or 0) >= runtime.context.config.max_revise_rounds:
        return "approve"
    return "revise" if fixable_by_story(state) else "approve"

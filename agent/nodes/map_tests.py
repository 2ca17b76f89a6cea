"""map_tests: which criteria each story's existing tests verify (agent/review/mapping.py), which
of those tests are stale (agent/review/staleness.py), and the run's coverage mode: `gaps` (the
generate branches write only what the existing tests leave uncovered) or `all`. With a model
configured (and `coverage_judge` on), the model decides the borderline pairs (agent/llm/judge.py)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.llm.judge import NODE as JUDGE_NODE
from agent.llm.judge import ModelJudge
from agent.models import Finding, StaleTest
from agent.review.mapping import Mapper
from agent.review.staleness import load_memory, save_memory, story_staleness
from agent.state import State, candidate_keys, node_usage
from connectors.embeddings import get_embedder


def _needs_encoder(stories) -> bool:  # noqa: ANN001
    return any(s.criteria and not t.criterion_ids and not t.fingerprint_criteria
               for s in stories for t in s.existing_tests)


def _stale_finding(t: StaleTest) -> Finding:
    what = (f"{t.criterion_id} changed since {t.test_key} was last updated: it read "
            f"\"{' '.join(t.old_text.split())}\" and now reads \"{' '.join(t.new_text.split())}\""
            if t.reason == "changed" else
            f"{t.test_key} verifies {t.criterion_id or 'a criterion'} that the story no longer has"
            + (f" (\"{' '.join(t.old_text.split())}\")" if t.old_text else ""))
    todo = ("casewright's write-back reconciles it" if t.own else "update the test, then it is mapped afresh")
    return Finding(severity="warning", code="stale-test", story_key=t.story_key, criterion_id=t.criterion_id or None,
                   case_id=t.test_key, message=f"{what}; {todo}")


def _judge(ctx: RunContext) -> ModelJudge | None:
    """The model judge of borderline pairs: when a model is configured and `coverage_judge` is on."""
    wanted = ctx.config.coverage_judge
    if wanted is None:
        wanted = ctx.template.coverage_judge
    generator = ctx.generator if wanted else None
    return ModelJudge.of(generator) if generator is not None else None


def map_tests(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    ctx = runtime.context
    ctx.config.fail_if_asked("map_tests")
    mode = ctx.config.coverage or ctx.template.coverage
    scope = set(candidate_keys(state))
    stories = [s for s in state["stories"] if s.key in scope]
    encoder = None
    if _needs_encoder(stories):
        encoder = ctx.services.embedder or get_embedder(ctx.store.embedding_model)
    judge = _judge(ctx)
    links = Mapper(encoder=encoder, judge=judge).map_stories(stories)
    stale: list[StaleTest] = []
    texts = {c.id: c.text for s in stories for c in s.criteria}
    for story in stories:
        if not story.existing_tests:
            continue
        found, memory = story_staleness(story, links[story.key], load_memory(ctx.config.data_dir, story.key),
                                        texts)
        save_memory(ctx.config.data_dir, story.key, memory)
        stale += found
    findings = [_stale_finding(t) for t in stale]
    update: dict[str, Any] = {"links": links, "stale_tests": stale, "coverage_mode": mode}
    if judge is not None and judge.judgements:
        findings += judge.findings({c.id: s.key for s in stories for c in s.criteria})
        update["llm_usage"] = judge.ledger.usage
    calls = judge.ledger.usage.get(JUDGE_NODE, {}).get("calls", 0) if judge is not None else 0
    return {**update, "findings": findings, "usage": node_usage("map_tests", t0, calls)}

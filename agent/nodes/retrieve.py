"""retrieve: for each story in scope, the rule sections and approved cases the knowledge base
holds about it and each of its criteria (agent/knowledge/retrieval.py). Results go to
`state["retrieved"][story_key]` as chunk dicts (id, title, text, kind, url, score,
criterion_ids), which the generate branches receive.

When no knowledge base has been ingested (the embedded store does not exist yet) the node says
so in `usage` and the stories are generated from their own text; it never loads the embedding
model for nothing. A store built with another embedding backend is not searched (its vectors are
not comparable): the node warns and says which backend built it."""

from __future__ import annotations

import logging
import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.knowledge.base import open_knowledge_base
from agent.knowledge.retrieval import retrieve_for_story
from agent.state import State, candidate_keys, node_usage

log = logging.getLogger(__name__)


def retrieve(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    store = runtime.context.store
    scope = set(candidate_keys(state))
    stories = [s for s in state.get("stories") or [] if s.key in scope]
    if not stories:
        return {"retrieved": {}}
    if store.backend == "embedded" and not store.embedded_store_exists():
        other = store.other_backend_store()
        if other:
            log.warning("%s; generating from the stories alone", store.backend_mismatch(other))
        else:
            log.info("no knowledge base under %s; generating from the stories alone", store.store_path)
        skipped = f"knowledge base embedded with {other}" if other else "no knowledge base"
        return {"retrieved": {}, "usage": node_usage("retrieve", t0, skipped=skipped)}
    retrieved: dict[str, list[dict[str, Any]]] = {}
    with open_knowledge_base(store, embedder=runtime.context.services.embedder) as kb:
        for story in stories:
            retrieved[story.key] = retrieve_for_story(kb, story, top_k=store.top_k).as_context()
    return {"retrieved": retrieved, "usage": node_usage("retrieve", t0, len(stories))}

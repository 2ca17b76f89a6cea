"""The graph's retrieve node: for each story in scope, the rule sections and approved cases the
knowledge base holds about it (and about each of its criteria), filtered by the story's project,
hybrid-ranked and deduplicated. Results go to `state["retrieved"][story_key]` as chunk dicts
(id, title, text, kind, url, score, criterion_ids), which the generate branches receive.

When no knowledge base has been ingested (the embedded store does not exist yet) the node
records that in `usage` and the generator works from the stories alone; it never loads the
embedding model for nothing."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig

import agent.grounding  # noqa: F401  (registers the generator's grounding hook)
from agent.configuration import Configuration
from agent.knowledge import current_config, open_knowledge_base, retrieve_for_story
from agent.state import State

log = logging.getLogger(__name__)


def retrieve(state: State, config: RunnableConfig) -> dict[str, Any]:
    t0 = time.perf_counter()
    cfg = Configuration.from_runnable_config(config)
    store_cfg = current_config(cfg.data_dir)
    scope = set(state.get("scope") or [])
    stories = [s for s in state.get("stories") or [] if s.key in scope]
    if not stories:
        return {"retrieved": {}}
    if store_cfg.backend == "embedded" and not store_cfg.embedded_store_exists():
        log.info("no knowledge base under %s; generating from the stories alone", store_cfg.store_path)
        return {"retrieved": {}, "usage": {"retrieve": {"seconds": round(time.perf_counter() - t0, 4),
                                                        "calls": 0, "skipped": "no knowledge base"}}}
    retrieved: dict[str, list[dict[str, Any]]] = {}
    with open_knowledge_base(store_cfg) as kb:
        for story in stories:
            found = retrieve_for_story(kb, story, top_k=store_cfg.top_k)
            retrieved[story.key] = found.as_context()
    return {"retrieved": retrieved,
            "usage": {"retrieve": {"seconds": round(time.perf_counter() - t0, 4), "calls": len(stories)}}}

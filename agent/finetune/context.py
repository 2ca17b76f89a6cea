"""Context for a story's fine-tuning prompt (`with_context`): the rule sections retrieved for it
and approved cases of OTHER stories as style examples, from a knowledge base holding the
workspace or, without one, the rule pages the story links to."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from agent.intake.epic import parse_page
from agent.llm.prompts import split_retrieved
from agent.models import SourceRef, Story, UATCase
from connectors.errors import CasewrightError

# Context for one story: (rule sections as (ref, text), approved cases of other stories as examples).
Context = tuple[list[tuple[SourceRef, str]], list[UATCase | tuple[SourceRef, str]]]
ContextProvider = Callable[[Story], Context]


def linked_pages_context(ws: Any, stories: Sequence[Story], *, max_sections: int = 5) -> ContextProvider:
    """Context without a knowledge store: the rule pages each story links to. Used when the
    knowledge base cannot be built here."""

    def provide(story: Story) -> Context:
        rules = []
        for pid in story.linked_pages[:max_sections]:
            raw = ws.page(pid)
            if raw is None:
                continue
            page = parse_page(ws, raw)
            rules.append((SourceRef(kind="page", id=page.id, title=page.title, url=page.url), page.text))
        return rules, []

    return provide


def without_own_cases(chunks: Sequence[dict[str, Any]], story_key: str) -> list[dict[str, Any]]:
    """Retrieved chunks minus the story's own approved cases and its own story chunk: when the
    approved cases are the answer (training, evaluation), the prompt must not contain them."""
    out = []
    for c in chunks:
        if c.get("kind") == "test_case" and (c.get("extra") or {}).get("story_key") == story_key:
            continue
        if c.get("kind") in ("story", "criterion") and c.get("source_id") == story_key:
            continue
        out.append(dict(c))
    return out


def knowledge_context(ws: Any, stories: Sequence[Story], settings: Any = None,
                      ) -> tuple[ContextProvider, Callable[[], None]] | None:
    """Context from a knowledge base (agent/knowledge/) holding this workspace, built in a
    temporary folder so the export never locks or changes the team's store; None when the
    knowledge base cannot be used here. Returns (provider, close).

    The story's own approved cases are never given as examples: they are the answer."""
    try:  # imported here: without the knowledge base's store the export falls back to linked pages
        from agent.knowledge import base, retrieval
        from agent.knowledge import config as store
    except ImportError:
        return None
    tmp = tempfile.TemporaryDirectory(prefix="casewright-export-kb-")
    try:
        cfg = store.StoreConfig(data_dir=tmp.name,
                                    embedding_model=getattr(settings, "embedding_model", None) or store.DEFAULT_MODEL,
                                    top_k=int(getattr(settings, "retrieval_top_k", 5) or 5))
        kb = base.open_knowledge_base(cfg)
        base.ingest_workspace(kb, ws, ac_field_name=getattr(settings, "ac_field_name", "Acceptance Criteria"),
                                   test_issue_type=getattr(settings, "test_issue_type", "Test"), prune=False)
    except CasewrightError:
        tmp.cleanup()
        return None

    def provide(story: Story) -> Context:
        # the same chunks, split the same way (rules, examples), that the graph gives the LLM generator
        got = retrieval.retrieve_for_story(kb, story, top_k=cfg.top_k)
        return split_retrieved(without_own_cases(got.as_context(), story.key))

    def close() -> None:
        try:
            kb.close()
        finally:
            tmp.cleanup()

    return provide, close

"""Retrieval for one story: the rule sections and approved cases the knowledge base holds about
it and each of its criteria, filtered by the story's project, hybrid-ranked, without duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from agent.knowledge.base import KnowledgeBase
from agent.knowledge.config import CASE_KINDS, RULE_KINDS
from agent.models import Story
from connectors.knowledge_store import Filters, Hit


def _rrf(rankings: Iterable[list[Hit]], k: int = 60) -> list[Hit]:
    """Fuse several ranked lists by reciprocal rank; a chunk keeps its best single-query hit."""
    scores: dict[str, float] = {}
    best: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + 1.0 / (k + rank + 1)
            if hit.chunk_id not in best or hit.score > best[hit.chunk_id].score:
                best[hit.chunk_id] = hit
    ordered = sorted(scores, key=lambda cid: -scores[cid])
    out = []
    for cid in ordered:
        hit = best[cid]
        out.append(Hit(chunk_id=hit.chunk_id, score=scores[cid], kind=hit.kind, source_id=hit.source_id,
                       title=hit.title, text=hit.text, url=hit.url, project=hit.project,
                       title_path=hit.title_path, payload=hit.payload))
    return out


def story_query(story: Story) -> str:
    return f"{story.summary}\n{story.description}".strip()


def criterion_query(story: Story, text: str) -> str:
    return f"{story.summary}: {text}"


@dataclass
class StoryKnowledge:
    """What retrieval found for one story: fused rule sections and approved cases, plus the
    hits of each criterion's own query."""

    rules: list[Hit]
    cases: list[Hit]
    per_criterion: dict[str, list[Hit]]

    def as_context(self) -> list[dict[str, Any]]:
        """The generator's per-story context: chunk dicts (id, title, text, kind, url, score) with
        `criterion_ids` naming the criteria whose query found the chunk."""
        found_by: dict[str, list[str]] = {}
        for cid, hits in self.per_criterion.items():
            for h in hits:
                found_by.setdefault(h.chunk_id, []).append(cid)
        out = []
        seen: set[str] = set()
        for hit in self.rules + self.cases + [h for hs in self.per_criterion.values() for h in hs]:
            if hit.chunk_id in seen:
                continue
            seen.add(hit.chunk_id)
            ctx = hit.as_context()
            ctx["criterion_ids"] = found_by.get(hit.chunk_id, [])
            out.append(ctx)
        return out


def retrieve_for_story(kb: KnowledgeBase, story: Story, *, top_k: int = 5, case_k: int = 3,
                       criterion_k: int = 3) -> StoryKnowledge:
    """Rule sections and similar approved cases for a story and each of its criteria, filtered by
    the story's project, hybrid-ranked and without near-duplicates. The story's own chunks are
    never returned."""
    projects = [story.project or story.key.split("-")[0]]
    queries = [story_query(story)] + [criterion_query(story, c.text) for c in story.criteria]
    dense = kb.embedder.encode(queries)
    sparse = [kb.bm25.query(q) for q in queries]
    rule_f = Filters(kinds=RULE_KINDS, projects=projects)
    case_f = Filters(kinds=CASE_KINDS, projects=projects)
    rule_lists = [kb.store.search(d, s, filters=rule_f, limit=max(top_k, criterion_k)) for d, s in zip(dense, sparse)]
    case_lists = [kb.store.search(d, s, filters=case_f, limit=max(case_k, 1)) for d, s in zip(dense[:1], sparse[:1])]
    per_criterion = {c.id: rule_lists[n + 1][:criterion_k] for n, c in enumerate(story.criteria)}
    # the story's own query leads; each criterion adds evidence for the sections it needs
    rules = _rrf([rule_lists[0], rule_lists[0]] + rule_lists[1:])[:top_k]
    return StoryKnowledge(rules=rules, cases=case_lists[0][:case_k], per_criterion=per_criterion)

"""The knowledge base: what the team already knows, embedded, kept in sync, and retrieved.

* `workspace_chunks(ws)` parses a raw Workspace with agent/intake.py (stories, criteria, rule
  pages, approved cases) and turns it into chunks with connectors/chunking.py.
* `KnowledgeBase.sync(chunks)` makes the store hold exactly those chunks: a chunk whose content
  hash is already stored is left alone (not re-embedded), a changed one is re-embedded and
  replaced, a chunk whose metadata alone changed gets its payload rewritten, and stored chunks
  whose source disappeared are deleted. It returns added/updated/unchanged/deleted counts.
* `KnowledgeBase.search(...)` and `retrieve_for_story(...)` run hybrid (dense + BM25, fused by
  reciprocal rank) queries filtered by kind and project.

Where the store lives comes from a `StoreConfig` (built from casewright settings by the CLI and
the workers via `configure`, or from the same environment variables when nobody did).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence


from agent.intake import parse_approved_case, parse_page, parse_story
from agent.models import Story
from connectors.chunking import Chunk, approved_case_chunk, criterion_chunks, page_chunks, story_chunk
from connectors.embeddings import DEFAULT_MODEL, TextEncoder, get_embedder, model_slug
from connectors.knowledge_store import (Bm25Encoder, EmbeddedStore, Filters, Hit, KnowledgeStore, StoredState,
                                        open_store)
from connectors.workspace import Workspace

log = logging.getLogger(__name__)

EMBED_BATCH = 256  # chunks per encode+upsert round (the model batches inside it)
RULE_KINDS = ["page_section"]
CASE_KINDS = ["test_case"]
Progress = Callable[[int, int], None]
_NOT_STORIES = {"epic", "sub-task", "subtask", "bug"}


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class StoreConfig:
    """Where the knowledge base lives and which model embeds it."""

    data_dir: str = ".casewright"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = field(default=None, repr=False)
    embedding_model: str = DEFAULT_MODEL
    top_k: int = 5

    @classmethod
    def from_settings(cls, settings: Any) -> "StoreConfig":
        key = getattr(settings, "qdrant_api_key", None)
        return cls(
            data_dir=str(settings.data_dir),
            qdrant_url=settings.qdrant_url or None,
            qdrant_api_key=key.get_secret_value() if key is not None else None,
            embedding_model=settings.embedding_model or DEFAULT_MODEL,
            top_k=int(settings.retrieval_top_k),
        )

    @classmethod
    def from_env(cls) -> "StoreConfig":
        """The same variables casewright.settings reads, for processes nobody configured."""
        env = os.environ
        return cls(
            data_dir=env.get("CASEWRIGHT_DATA_DIR", ".casewright"),
            qdrant_url=env.get("QDRANT_URL") or None,
            qdrant_api_key=env.get("QDRANT_API_KEY") or None,
            embedding_model=env.get("CASEWRIGHT_EMBEDDING_MODEL") or DEFAULT_MODEL,
            top_k=int(env.get("CASEWRIGHT_RETRIEVAL_TOP_K") or 5),
        )

    @property
    def store_path(self) -> Path:
        return Path(self.data_dir) / "qdrant"

    @property
    def backend(self) -> str:
        return "server" if self.qdrant_url else "embedded"

    def embedded_store_exists(self) -> bool:
        return (self.store_path / model_slug(self.embedding_model) / "edge_config.json").exists()


_configured: StoreConfig | None = None


def configure(config: StoreConfig | None) -> None:
    """Set this process's knowledge-base configuration (the CLI and workers call it at start)."""
    global _configured
    _configured = config


def current_config(data_dir: str | None = None) -> StoreConfig:
    cfg = _configured or StoreConfig.from_env()
    return replace(cfg, data_dir=str(data_dir)) if data_dir else cfg


# --------------------------------------------------------------------------- chunks from a workspace

def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    return issue.get("fields") or {}


def _type(issue: dict[str, Any]) -> str:
    return str((_fields(issue).get("issuetype") or {}).get("name", "")).lower()


def _epic_of(ws: Workspace, issue: dict[str, Any]) -> str | None:
    f = _fields(issue)
    parent = (f.get("parent") or {}).get("key")
    if parent:
        return parent
    link = ws.field_id("Epic Link")
    return f.get(link) if link else None


CHUNKER_VERSION = "1"  # bump when chunking changes, so every source is parsed again


def _fingerprint(*parts: Any) -> str:
    raw = json.dumps([CHUNKER_VERSION, *parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


@dataclass
class _Sources:
    """The raw sources of a workspace by kind, each with its fingerprint."""

    stories: dict[str, dict[str, Any]]
    tests: dict[str, tuple[dict[str, Any], str]]  # key -> (raw, linked story key)
    pages: dict[str, dict[str, Any]]
    fingerprints: dict[str, str]


def _sources(ws: Workspace, ac_field_name: str, test_issue_type: str) -> _Sources:
    test_type = test_issue_type.lower()
    ac_field = ws.field_id(ac_field_name)
    jira_base = (ws.jira or {}).get("baseUrl")
    wiki_base = (ws.confluence or {}).get("baseUrl")
    # issue -> issues linked to it, either direction, built once (not one scan per test)
    links: dict[str, list[str]] = {}
    for issue in ws.issues:
        for link in _fields(issue).get("issuelinks") or []:
            other = (link.get("inwardIssue") or link.get("outwardIssue") or {}).get("key")
            if other:
                links.setdefault(issue["key"], []).append(other)
                links.setdefault(other, []).append(issue["key"])
    stories, tests, pages, fps = {}, {}, {}, {}
    for raw in ws.issues:
        kind = _type(raw)
        key = raw["key"]
        if kind == test_type:
            linked = [k for k in dict.fromkeys(links.get(key, []))
                      if ws.issue(k) is not None and _type(ws.issue(k)) != test_type]
            story_key = linked[0] if linked else ""
            story_raw = ws.issue(story_key) if story_key else None
            tests[key] = (raw, story_key)
            fps[key] = _fingerprint("test", raw, story_key, _epic_of(ws, story_raw) if story_raw else "", jira_base)
        elif kind not in _NOT_STORIES:
            stories[key] = raw
            fps[key] = _fingerprint("story", raw, ac_field, jira_base, ws.remote_links.get(key))
    for raw in ws.pages:
        pid = str(raw["id"])
        pages[pid] = raw
        fps[pid] = _fingerprint("page", raw, wiki_base)
    return _Sources(stories, tests, pages, fps)


def workspace_chunks(ws: Workspace, *, ac_field_name: str = "Acceptance Criteria",
                     test_issue_type: str = "Test", skip_sources: set[str] | frozenset = frozenset(),
                     sources: _Sources | None = None) -> list[Chunk]:
    """Every chunk the workspace yields: stories and their criteria, rule page sections, and the
    approved test cases (issues of `test_issue_type` in the house format). Sources named in
    `skip_sources` are not parsed at all. Each chunk carries its source's fingerprint."""
    src = sources or _sources(ws, ac_field_name, test_issue_type)
    chunks: list[Chunk] = []

    def stamp(items: list[Chunk], source_id: str) -> list[Chunk]:
        fp = src.fingerprints[source_id]
        return [replace(c, source_hash=fp) for c in items]

    for key, raw in src.stories.items():
        if key in skip_sources:
            continue
        story = parse_story(ws, raw, epic_key=_epic_of(ws, raw), ac_field_name=ac_field_name,
                            test_issue_type=test_issue_type)
        data = story.model_dump(exclude={"approved_cases"})
        chunks += stamp([story_chunk(data)] + criterion_chunks(data, [c.model_dump() for c in story.criteria]), key)
    base = (ws.jira or {}).get("baseUrl")
    for key, (raw, story_key) in src.tests.items():
        if key in skip_sources:
            continue
        case = parse_approved_case(ws, raw, story_key)
        if case is None:
            continue
        f = _fields(raw)
        project = str((f.get("project") or {}).get("key") or key.split("-")[0])
        story_raw = ws.issue(case.story_key) if case.story_key else None
        chunks += stamp([approved_case_chunk(
            case.model_dump(), project=project, epic=(_epic_of(ws, story_raw) or "") if story_raw else "",
            url=f"{base.rstrip('/')}/browse/{key}" if base else "", updated=str(f.get("updated") or ""))], key)
    for pid, raw in src.pages.items():
        if pid in skip_sources:
            continue
        chunks += stamp(page_chunks(parse_page(ws, raw).model_dump()), pid)
    return chunks


def workspace_scope(ws: Workspace) -> list[str]:
    """The projects (and Confluence spaces) a full snapshot of `ws` speaks for."""
    scope = {str(p.get("key")) for p in ws.projects if p.get("key")}
    for issue in ws.issues:
        scope.add(str((_fields(issue).get("project") or {}).get("key") or issue["key"].split("-")[0]))
    for page in ws.pages:
        space = page.get("space")
        key = space.get("key") if isinstance(space, dict) else space
        if key:
            scope.add(str(key))
    return sorted(s for s in scope if s)


# --------------------------------------------------------------------------- sync

@dataclass
class SyncSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0
    chunks: int = 0
    seconds: float = 0.0
    backend: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "embedded": self.embedded, "chunks": self.chunks,
                "seconds": round(self.seconds, 3), "backend": self.backend}


class KnowledgeBase:
    """A store plus the models that fill and query it."""

    def __init__(self, store: KnowledgeStore, embedder: TextEncoder, bm25: Bm25Encoder | None = None) -> None:
        if store.dim != embedder.dim:
            raise ValueError(f"store holds {store.dim}-d vectors, model gives {embedder.dim}")
        self.store = store
        self.embedder = embedder
        self.bm25 = bm25 or Bm25Encoder()

    # -- writing ---------------------------------------------------------------------------------
    def sync(self, chunks: Sequence[Chunk], *, prune_projects: Sequence[str] | None = None,
             keep_sources: Iterable[str] = (), stored: dict[str, StoredState] | None = None,
             progress: Progress | None = None, batch: int = EMBED_BATCH) -> SyncSummary:
        """Make the store match `chunks`.

        Stored chunks of a source present in `chunks` but no longer produced by it are always
        deleted (a shortened page loses its old sections). With `prune_projects`, `chunks` is a
        full snapshot of those projects: any stored chunk of them not in `chunks` is deleted
        (a deleted page or story disappears). Stored chunks of `keep_sources` (sources known to
        be unchanged, so not even re-chunked) are kept and count as unchanged. `stored` is the
        store's manifest when the caller has already read it."""
        t0 = time.perf_counter()
        unique: dict[str, Chunk] = {}
        for c in chunks:
            if c.id in unique:
                log.warning("chunk id %s produced twice; keeping the first", c.id)
                continue
            unique[c.id] = c
        keep = set(keep_sources)
        if stored is None:
            sources = sorted({c.source_id for c in unique.values()})
            stored = self.store.manifest(Filters(source_ids=sources)) if sources else {}
            if prune_projects:
                stored.update(self.store.manifest(Filters(projects=list(prune_projects))))

        kept = sum(1 for cid, st in stored.items() if st.source_id in keep and cid not in unique)
        summary = SyncSummary(chunks=len(unique) + kept, unchanged=kept, backend=self.store.backend)
        to_embed: list[Chunk] = []
        to_repayload: list[Chunk] = []
        for cid, chunk in unique.items():
            state = stored.get(cid)
            if state is None:
                summary.added += 1
                to_embed.append(chunk)
            elif state.content_hash != chunk.content_hash:
                summary.updated += 1
                to_embed.append(chunk)
            elif state.meta_hash != chunk.meta_hash:
                summary.updated += 1
                to_repayload.append(chunk)
            else:
                summary.unchanged += 1
                if state.source_hash != chunk.source_hash:
                    to_repayload.append(chunk)  # same chunk, its source changed elsewhere: new fingerprint
        gone = [cid for cid, st in stored.items() if cid not in unique and st.source_id not in keep]

        # similar lengths together: less padding in each model batch
        to_embed.sort(key=lambda c: len(c.embed_text))
        total = len(to_embed)
        if progress:
            progress(0, total)
        for start in range(0, total, batch):
            part = to_embed[start:start + batch]
            texts = [c.embed_text for c in part]
            dense = self.embedder.encode(texts)
            self.store.upsert(part, dense, self.bm25.documents(texts))
            summary.embedded += len(part)
            if progress:
                progress(min(start + batch, total), total)
        if to_repayload:
            self.store.set_payloads(to_repayload)
        if gone:
            self.store.delete(gone)
            summary.deleted = len(gone)
        if total or gone or to_repayload:
            self.store.flush()
            if total:
                self.store.optimize()
        summary.seconds = time.perf_counter() - t0
        return summary

    # -- reading ---------------------------------------------------------------------------------
    def search(self, query: str, *, kinds: Sequence[str] | None = None, projects: Sequence[str] | None = None,
               limit: int = 5, exclude_source_ids: Sequence[str] | None = None) -> list[Hit]:
        return self.search_many([query], kinds=kinds, projects=projects, limit=limit,
                                exclude_source_ids=exclude_source_ids)[0]

    def search_many(self, queries: Sequence[str], *, kinds: Sequence[str] | None = None,
                    projects: Sequence[str] | None = None, limit: int = 5,
                    exclude_source_ids: Sequence[str] | None = None) -> list[list[Hit]]:
        """One hybrid search per query (the queries are embedded in one batch)."""
        queries = [q for q in queries]
        if not queries:
            return []
        dense = self.embedder.encode(queries)
        filters = Filters(kinds=list(kinds or []), projects=[p for p in (projects or []) if p],
                          exclude_source_ids=list(exclude_source_ids or []))
        return [self.store.search(vec, self.bm25.query(q), filters=filters, limit=limit)
                for q, vec in zip(queries, dense)]

    def count(self) -> int:
        return self.store.count()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_knowledge_base(config: StoreConfig | None = None, *, client=None,
                        embedder: TextEncoder | None = None) -> KnowledgeBase:
    """The knowledge base `config` describes (default: this process's configuration).
    `client` (a QdrantClient) selects the server backend with that client, e.g. local mode."""
    config = config or current_config()
    if client is None and not config.qdrant_url and embedder is None:
        EmbeddedStore.check_available(config.store_path / model_slug(config.embedding_model))
    embedder = embedder or get_embedder(config.embedding_model)
    slug = model_slug(getattr(embedder, "name", config.embedding_model))
    store = open_store(dim=embedder.dim, model_slug=slug, path=config.store_path, url=config.qdrant_url,
                       api_key=config.qdrant_api_key, client=client)
    return KnowledgeBase(store, embedder)


def ingest_workspace(kb: KnowledgeBase, ws: Workspace, *, ac_field_name: str = "Acceptance Criteria",
                     test_issue_type: str = "Test", prune: bool = True,
                     progress: Progress | None = None) -> SyncSummary:
    """Sync the knowledge base with everything in `ws` (a full snapshot of its projects when prune).

    Each raw source (issue, page) is fingerprinted first; a source whose fingerprint the store
    already holds is not parsed or chunked again, so re-syncing an unchanged workspace costs
    little more than reading the store's manifest."""
    t0 = time.perf_counter()
    src = _sources(ws, ac_field_name, test_issue_type)
    scope = workspace_scope(ws)
    if prune:
        stored = kb.store.manifest(Filters(projects=scope))
    else:
        stored = kb.store.manifest(Filters(source_ids=sorted(src.fingerprints)))
    held: dict[str, set[str]] = {}
    for state in stored.values():
        held.setdefault(state.source_id, set()).add(state.source_hash)
    unchanged = {sid for sid, fp in src.fingerprints.items() if held.get(sid) == {fp}}
    chunks = workspace_chunks(ws, ac_field_name=ac_field_name, test_issue_type=test_issue_type,
                              skip_sources=unchanged, sources=src)
    summary = kb.sync(chunks, prune_projects=scope if prune else None, keep_sources=unchanged, stored=stored,
                      progress=progress)
    summary.seconds = time.perf_counter() - t0
    return summary


# --------------------------------------------------------------------------- retrieval for a story

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

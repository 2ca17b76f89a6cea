"""The knowledge base: a store plus the models that fill and query it.

* `KnowledgeBase.sync(chunks)` makes the store hold exactly those chunks: a chunk whose content
  hash is already stored is left alone (not re-embedded), a changed one is re-embedded and
  replaced, a chunk whose metadata alone changed gets its payload rewritten, and stored chunks
  whose source disappeared are deleted. It returns added/updated/unchanged/deleted counts.
* `ingest_workspace(kb, ws)` syncs it with everything a workspace holds (agent/knowledge/sources.py).
* `KnowledgeBase.search(...)` runs hybrid (dense + BM25, fused by reciprocal rank) queries
  filtered by kind and project; agent/knowledge/retrieval.py asks for one story.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from agent.knowledge.config import StoreConfig
from agent.knowledge.sources import sources_of, workspace_chunks, workspace_scope
from connectors.chunking import Chunk
from connectors.embeddings import TextEncoder, get_embedder, model_slug
from connectors.knowledge_store import Bm25Encoder, EmbeddedStore, Filters, Hit, KnowledgeStore, StoredState, open_store
from connectors.workspace import Workspace

log = logging.getLogger(__name__)

EMBED_BATCH = 256  # chunks per encode+upsert round (the model batches inside it)
Progress = Callable[[int, int], None]


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


def open_knowledge_base(config: StoreConfig, *, client=None,
                        embedder: TextEncoder | None = None) -> KnowledgeBase:
    """The knowledge base `config` describes. `client` (a QdrantClient) selects the server
    backend with that client, e.g. local mode."""
    if client is None and not config.qdrant_url and embedder is None:
        EmbeddedStore.check_available(config.store_path / config.slug, config.lock_wait_s)
    embedder = embedder or get_embedder(config.embedding_model, config.embedding_backend,
                                        cache_dir=config.models_path)
    slug = getattr(embedder, "slug", None) or model_slug(getattr(embedder, "name", config.embedding_model))
    store = open_store(dim=embedder.dim, model_slug=slug, path=config.store_path, url=config.qdrant_url,
                       api_key=config.qdrant_api_key, client=client, lock_wait_s=config.lock_wait_s)
    return KnowledgeBase(store, embedder)


def ingest_workspace(kb: KnowledgeBase, ws: Workspace, *, ac_field_name: str = "Acceptance Criteria",
                     test_issue_type: str = "Test", prune: bool = True,
                     progress: Progress | None = None) -> SyncSummary:
    """Sync the knowledge base with everything in `ws` (a full snapshot of its projects when prune).

    Each raw source (issue, page) is fingerprinted first; a source whose fingerprint the store
    already holds is not parsed or chunked again, so re-syncing an unchanged workspace costs
    little more than reading the store's manifest."""
    t0 = time.perf_counter()
    src = sources_of(ws, ac_field_name, test_issue_type)
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


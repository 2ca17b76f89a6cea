"""The knowledge-store interface both backends implement, and what crosses it.

Both backends keep the same collection layout: a named dense vector `dense` (cosine), a named
sparse vector `bm25` (document term weights from qdrant-edge's BM25 model, IDF applied by the
engine), and the payload of `connectors.chunking.Chunk.payload()`:

    chunk_id, kind, source_id, project, epic, labels, title, title_path, updated,
    content_hash, meta_hash, url, text (+ extra for approved cases)

with keyword payload indexes on the fields filters use. A hybrid query runs the dense and the
BM25 search as two prefetches over the same filter and fuses them by reciprocal rank fusion in
the engine; near-duplicate hits (same content, or dense cosine above a threshold to a better
hit) are dropped before the top `limit` are returned.

Here: the layout constants, the point id of a chunk, the errors, `Filters`, `Hit`,
`StoredState` (and the mapping from a scrolled point to it), and `KnowledgeStore`.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from connectors.chunking import Chunk
from connectors.errors import CasewrightError

DENSE = "dense"
SPARSE = "bm25"
RRF_K = 60
DUPLICATE_COSINE = 0.95
INDEXED_FIELDS = ("kind", "source_id", "project", "epic", "labels", "chunk_id", "content_hash")
MANIFEST_FIELDS = ["chunk_id", "content_hash", "meta_hash", "source_id", "project", "kind", "source_hash"]
_NAMESPACE = uuid.UUID("6f1c2a4e-2b7d-5c43-9e51-0d6a8f3b7c21")


class StoreError(CasewrightError):
    """The knowledge store cannot be opened or used; the message says what to do."""


class StoreLockedError(StoreError):
    """Another process held the embedded store for longer than the wait allows. Transient: a
    service job retries it with backoff (connectors.errors.is_transient)."""

    transient = True


def point_id(chunk_id: str) -> str:
    """The stable Qdrant point id (a UUID) of a chunk id."""
    return str(uuid.uuid5(_NAMESPACE, chunk_id))


# --------------------------------------------------------------------------- queries and hits

@dataclass
class Hit:
    chunk_id: str
    score: float
    kind: str
    source_id: str
    title: str
    text: str
    url: str = ""
    project: str = ""
    title_path: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], score: float) -> "Hit":
        return cls(
            chunk_id=str(payload.get("chunk_id", "")), score=float(score), kind=str(payload.get("kind", "")),
            source_id=str(payload.get("source_id", "")), title=str(payload.get("title", "")),
            text=str(payload.get("text", "")), url=str(payload.get("url") or ""),
            project=str(payload.get("project", "")), title_path=list(payload.get("title_path") or []),
            payload=payload,
        )

    def as_context(self) -> dict[str, Any]:
        """The shape the generator takes: id, title, text, kind, url, score (+ payload extras)."""
        return {"id": self.chunk_id, "title": self.title, "text": self.text, "kind": self.kind,
                "url": self.url or None, "score": round(self.score, 6), "source_id": self.source_id,
                "extra": dict(self.payload.get("extra") or {})}


@dataclass
class Filters:
    """Payload filters, the same for both backends. Each list means "any of"."""

    kinds: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    epics: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    exclude_source_ids: list[str] = field(default_factory=list)

    def must(self) -> list[tuple[str, list[str]]]:
        pairs = [("kind", self.kinds), ("project", self.projects), ("epic", self.epics),
                 ("labels", self.labels), ("source_id", self.source_ids)]
        return [(k, [str(v) for v in vals]) for k, vals in pairs if vals]

    def must_not(self) -> list[tuple[str, list[str]]]:
        return [("source_id", [str(v) for v in self.exclude_source_ids])] if self.exclude_source_ids else []


@dataclass
class StoredState:
    content_hash: str
    meta_hash: str
    source_id: str
    project: str
    kind: str
    source_hash: str = ""


def stored_state(record: Any) -> tuple[str, StoredState]:
    """(chunk id, what the sync compares) from a scrolled point of either backend."""
    p = record.payload or {}
    return p.get("chunk_id", str(record.id)), StoredState(
        p.get("content_hash", ""), p.get("meta_hash", ""), p.get("source_id", ""),
        p.get("project", ""), p.get("kind", ""), p.get("source_hash", ""))


def drop_near_duplicates(candidates: list[tuple[Hit, np.ndarray | None]], limit: int,
                         threshold: float = DUPLICATE_COSINE) -> list[Hit]:
    """Keep hits in rank order, skipping any with the same content hash as, or a dense cosine of
    at least `threshold` to, a hit already kept."""
    kept: list[Hit] = []
    kept_vecs: list[np.ndarray] = []
    seen_hashes: set[str] = set()
    for hit, vec in candidates:
        h = str(hit.payload.get("content_hash", ""))
        if h and h in seen_hashes:
            continue
        if vec is not None and kept_vecs:
            if float(np.max(np.stack(kept_vecs) @ vec)) >= threshold:
                continue
        kept.append(hit)
        seen_hashes.add(h)
        if vec is not None:
            kept_vecs.append(vec)
        if len(kept) >= limit:
            break
    return kept


# --------------------------------------------------------------------------- the interface

class KnowledgeStore(ABC):
    backend = "abstract"

    def __init__(self, dim: int) -> None:
        self.dim = dim

    @abstractmethod
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray,
               sparse: Sequence[tuple[list[int], list[float]]]) -> None: ...

    @abstractmethod
    def set_payloads(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the payload of stored chunks whose text (and so vectors) did not change."""

    @abstractmethod
    def delete(self, chunk_ids: Iterable[str]) -> None: ...

    @abstractmethod
    def manifest(self, filters: Filters | None = None) -> dict[str, StoredState]:
        """chunk_id -> what is stored about it (hashes, source), for the chunks matching `filters`."""

    @abstractmethod
    def count(self, filters: Filters | None = None) -> int: ...

    @abstractmethod
    def _hybrid(self, dense: np.ndarray, sparse: tuple[list[int], list[float]], filters: Filters,
                candidates: int) -> list[tuple[Hit, np.ndarray | None]]: ...

    @abstractmethod
    def dense_search(self, dense: np.ndarray, filters: Filters | None = None, limit: int = 10,
                     exact: bool = False, hnsw_ef: int | None = None) -> list[Hit]: ...

    def optimize(self) -> None:
        """Build indexes after a large change (the embedded engine does it in-process)."""

    def flush(self) -> None:
        """Make writes durable."""

    def close(self) -> None: ...

    def search(self, dense: np.ndarray, sparse: tuple[list[int], list[float]], *,
               filters: Filters | None = None, limit: int = 5, candidates: int | None = None,
               duplicate_cosine: float = DUPLICATE_COSINE) -> list[Hit]:
        """Hybrid search: dense and BM25 fused by reciprocal rank, near-duplicates dropped."""
        if limit <= 0:
            return []
        fetched = self._hybrid(np.asarray(dense, dtype=np.float32), sparse, filters or Filters(),
                               candidates or max(limit * 4, 20))
        return drop_near_duplicates(fetched, limit, duplicate_cosine)

    def __enter__(self) -> "KnowledgeStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The knowledge store: chunks with dense and BM25 vectors in Qdrant, one interface, two backends.

* `EmbeddedStore` (the default): `qdrant-edge-py`, the Qdrant engine inside this process, on
  disk under the data directory. One process at a time may open a store directory; threads of
  that process share it. A second process gets a `StoreLockedError` that says what to do.
* `ServerStore`: `qdrant-client` against a Qdrant server (`QDRANT_URL`, `QDRANT_API_KEY`), for
  deployments with several worker processes or machines. `QdrantClient(":memory:")` (local
  mode) speaks the same API and is what the tests run.

Both keep the same collection layout: a named dense vector `dense` (cosine), a named sparse
vector `bm25` (document term weights from qdrant-edge's BM25 model, IDF applied by the engine),
and the payload of `connectors.chunking.Chunk.payload()`:

    chunk_id, kind, source_id, project, epic, labels, title, title_path, updated,
    content_hash, meta_hash, url, text (+ extra for approved cases)

with keyword payload indexes on the fields filters use. A hybrid query runs the dense and the
BM25 search as two prefetches over the same filter and fuses them by reciprocal rank fusion in
the engine; near-duplicate hits (same content, or dense cosine above a threshold to a better
hit) are dropped before the top `limit` are returned.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import qdrant_edge as qe

from connectors.chunking import Chunk
from connectors.errors import CasewrightError

log = logging.getLogger(__name__)

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
    """Another process holds the embedded store."""


def point_id(chunk_id: str) -> str:
    """The stable Qdrant point id (a UUID) of a chunk id."""
    return str(uuid.uuid5(_NAMESPACE, chunk_id))


# --------------------------------------------------------------------------- sparse (BM25) vectors

class Bm25Encoder:
    """BM25 term weights, computed the same way for both backends (qdrant-edge's tokenizer,
    English stemming and stop words). Documents get saturated term frequencies; queries get 1
    per term; the engine multiplies by IDF (sparse vector modifier)."""

    def __init__(self, avg_len: float = 60.0) -> None:
        self._model = qe.Bm25(qe.Bm25Config(k=1.2, b=0.75, avg_len=avg_len, language="english"))

    def documents(self, texts: Sequence[str]) -> list[tuple[list[int], list[float]]]:
        out = []
        for text in texts:
            v = self._model.embed_document(text)
            out.append((list(v.indices), list(v.values)))
        return out

    def query(self, text: str) -> tuple[list[int], list[float]]:
        v = self._model.embed_query(text)
        return list(v.indices), list(v.values)


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


def _stored_state(record: Any) -> tuple[str, StoredState]:
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


# --------------------------------------------------------------------------- embedded: qdrant-edge

def _edge_filter(filters: Filters | None) -> qe.Filter | None:
    if filters is None:
        return None
    must = [qe.FieldCondition(k, match=qe.MatchAny(v)) for k, v in filters.must()]
    must_not = [qe.FieldCondition(k, match=qe.MatchAny(v)) for k, v in filters.must_not()]
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


class _SharedShard:
    """One open EdgeShard per directory per process, shared by threads, with the process lock."""

    def __init__(self, shard: qe.EdgeShard, lock_file) -> None:
        self.shard = shard
        self.lock_file = lock_file
        self.refs = 0
        self.mutex = threading.RLock()


_shards: dict[str, _SharedShard] = {}
_shards_lock = threading.Lock()


def _locked_message(path: Path, holder: str) -> str:
    who = f" (process {holder})" if holder else ""
    return (
        f"the embedded knowledge store {path} is already open in another process{who}; the embedded "
        f"Qdrant engine allows one process at a time. Set QDRANT_URL (and QDRANT_API_KEY) to use a Qdrant "
        f"server, or run a single worker process with threads (e.g. celery --pool threads)"
    )


class EmbeddedStore(KnowledgeStore):
    backend = "embedded"

    @staticmethod
    def check_available(path: str | Path) -> None:
        """Raise StoreLockedError now if another process holds the store at `path` (so a command
        fails before it spends seconds loading an embedding model)."""
        path = Path(path)
        with _shards_lock:
            if str(path.resolve()) in _shards:
                return
        lock_path = path.parent / f"{path.name}.lock"
        if not lock_path.exists():
            return
        with open(lock_path, "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                raise StoreLockedError(_locked_message(path, fh.read().strip())) from None
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def __init__(self, path: str | Path, dim: int, *, hnsw_m: int = 16, hnsw_ef_construct: int = 100,
                 full_scan_threshold_kb: int = 10_000) -> None:
        super().__init__(dim)
        self.path = Path(path)
        self._closed = False
        key = str(self.path.resolve())
        with _shards_lock:
            shared = _shards.get(key)
            if shared is None:
                shared = self._open(hnsw_m, hnsw_ef_construct, full_scan_threshold_kb)
                _shards[key] = shared
            shared.refs += 1
        self._key = key
        self._shared = shared

    def _config(self, m: int, ef: int, fst: int) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef, full_scan_threshold=fst),
        )

    def _open(self, m: int, ef: int, fst: int) -> _SharedShard:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.parent / f"{self.path.name}.lock"
            lock_file = open(lock_path, "a+")
        except OSError as exc:
            raise StoreError(f"cannot create the knowledge store under {self.path.parent}: {exc.strerror}; "
                             f"set CASEWRIGHT_DATA_DIR to a writable directory") from None
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip()
            lock_file.close()
            raise StoreLockedError(_locked_message(self.path, holder)) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        config = self._config(m, ef, fst)
        try:
            if (self.path / "edge_config.json").exists() or (self.path / "segments").exists():
                shard = qe.EdgeShard.load(str(self.path), config)
            else:
                shard = qe.EdgeShard.create(str(self.path), config)
        except Exception as exc:  # noqa: BLE001 - the engine raises plain Exception with a message
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
            lock_file.close()
            text = str(exc)
            if "WouldBlock" in text or "lock" in text.lower():
                raise StoreLockedError(_locked_message(self.path, "")) from None
            raise StoreError(
                f"cannot open the embedded knowledge store {self.path}: {text}. If it was made with another "
                f"embedding model or version, delete the directory and run `casewright ingest` again"
            ) from None
        existing = set(shard.info().payload_schema)
        for name in INDEXED_FIELDS:
            if name not in existing:
                params = qe.KeywordIndexParams(is_tenant=True) if name == "project" else qe.PayloadSchemaType.Keyword
                shard.update(qe.UpdateOperation.create_field_index(name, params))
        return _SharedShard(shard, lock_file)

    @property
    def shard(self) -> qe.EdgeShard:
        if self._closed:
            raise StoreError("the knowledge store was closed")
        return self._shared.shard

    def upsert(self, chunks, dense, sparse) -> None:
        points = []
        for chunk, vec, (idx, vals) in zip(chunks, dense, sparse):
            vectors: dict[str, Any] = {DENSE: np.asarray(vec, dtype=np.float32).tolist()}
            if idx:
                vectors[SPARSE] = qe.SparseVector(idx, vals)
            points.append(qe.Point(point_id(chunk.id), vectors, chunk.payload()))
        if points:
            with self._shared.mutex:
                self.shard.update(qe.UpdateOperation.upsert_points(points))

    def set_payloads(self, chunks) -> None:
        with self._shared.mutex:
            for chunk in chunks:
                self.shard.update(qe.UpdateOperation.overwrite_payload([point_id(chunk.id)], chunk.payload()))

    def delete(self, chunk_ids) -> None:
        ids = [point_id(c) for c in chunk_ids]
        if ids:
            with self._shared.mutex:
                self.shard.update(qe.UpdateOperation.delete_points(ids))

    def manifest(self, filters: Filters | None = None) -> dict[str, StoredState]:
        out: dict[str, StoredState] = {}
        offset = None
        flt = _edge_filter(filters)
        while True:
            records, offset = self.shard.scroll(qe.ScrollRequest(
                offset=offset, limit=2048, filter=flt,
                with_payload=qe.PayloadSelector.Include(MANIFEST_FIELDS), with_vector=False))
            for r in records:
                out.update([_stored_state(r)])
            if offset is None:
                return out

    def count(self, filters: Filters | None = None) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=_edge_filter(filters))))

    def _hybrid(self, dense, sparse, filters, candidates):
        flt = _edge_filter(filters)
        prefetches = [qe.Prefetch(limit=candidates, query=qe.Query.Nearest(dense.tolist(), using=DENSE), filter=flt)]
        if sparse[0]:
            prefetches.append(qe.Prefetch(limit=candidates, filter=flt,
                                          query=qe.Query.Nearest(qe.SparseVector(*sparse), using=SPARSE)))
        points = self.shard.query(qe.QueryRequest(
            limit=candidates, prefetches=prefetches, query=qe.Fusion.Rrf(k=RRF_K), filter=flt,
            with_payload=True, with_vector=[DENSE]))
        out = []
        for p in points:
            vec = (p.vector or {}).get(DENSE) if isinstance(p.vector, dict) else None
            out.append((Hit.from_payload(p.payload or {}, p.score),
                        np.asarray(vec, dtype=np.float32) if vec is not None else None))
        return out

    def dense_search(self, dense, filters=None, limit=10, exact=False, hnsw_ef=None) -> list[Hit]:
        points = self.shard.query(qe.QueryRequest(
            limit=limit, query=qe.Query.Nearest(np.asarray(dense, dtype=np.float32).tolist(), using=DENSE),
            filter=_edge_filter(filters), with_payload=qe.PayloadSelector.Include(["chunk_id"]),
            params=qe.SearchParams(exact=exact, hnsw_ef=hnsw_ef)))
        return [Hit.from_payload(p.payload or {}, p.score) for p in points]

    def optimize(self) -> None:
        with self._shared.mutex:
            self.shard.optimize()

    def flush(self) -> None:
        with self._shared.mutex:
            self.shard.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _shards_lock:
            shared = _shards.get(self._key)
            if shared is None:
                return
            shared.refs -= 1
            if shared.refs <= 0:
                del _shards[self._key]
                with shared.mutex:
                    try:
                        shared.shard.flush()
                    finally:
                        shared.shard.close()
                        fcntl.flock(shared.lock_file.fileno(), fcntl.LOCK_UN)
                        shared.lock_file.close()


# --------------------------------------------------------------------------- server: qdrant-client

class ServerStore(KnowledgeStore):
    backend = "server"

    def __init__(self, dim: int, *, collection: str, url: str | None = None, api_key: str | None = None,
                 client=None, timeout_s: float = 30.0) -> None:
        super().__init__(dim)
        from qdrant_client import QdrantClient, models

        self._m = models
        self.collection = collection
        self.url = url or ":memory:"
        self._owns_client = client is None
        try:
            self.client = client or QdrantClient(url=url, api_key=api_key, timeout=int(timeout_s))
            self._ensure()
        except CasewrightError:
            raise
        except Exception as exc:  # noqa: BLE001 - connection refused, TLS, auth: one line for a person
            raise StoreError(
                f"cannot use the Qdrant server at {url}: {type(exc).__name__}: {str(exc)[:200]}. Check QDRANT_URL "
                f"and QDRANT_API_KEY, or unset QDRANT_URL to use the embedded store"
            ) from None

    def _ensure(self) -> None:
        m = self._m
        if self.client.collection_exists(self.collection):
            info = self.client.get_collection(self.collection)
            vectors = info.config.params.vectors
            size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
            if size != self.dim:
                raise StoreError(
                    f"Qdrant collection {self.collection} holds {size}-dimensional vectors, the embedding model "
                    f"gives {self.dim}; use another collection or delete this one and ingest again")
            return
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE: m.VectorParams(size=self.dim, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
        )
        with warnings.catch_warnings():  # local mode says payload indexes are no-ops there
            warnings.simplefilter("ignore")
            for name in INDEXED_FIELDS:
                schema = (m.KeywordIndexParams(type=m.KeywordIndexType.KEYWORD, is_tenant=True)
                          if name == "project" else m.PayloadSchemaType.KEYWORD)
                self.client.create_payload_index(self.collection, name, schema)

    def _filter(self, filters: Filters | None):
        m = self._m
        if filters is None:
            return None
        must = [m.FieldCondition(key=k, match=m.MatchAny(any=v)) for k, v in filters.must()]
        must_not = [m.FieldCondition(key=k, match=m.MatchAny(any=v)) for k, v in filters.must_not()]
        if not must and not must_not:
            return None
        return m.Filter(must=must or None, must_not=must_not or None)

    def upsert(self, chunks, dense, sparse) -> None:
        m = self._m
        points = []
        for chunk, vec, (idx, vals) in zip(chunks, dense, sparse):
            vectors: dict[str, Any] = {DENSE: np.asarray(vec, dtype=np.float32).tolist()}
            if idx:
                vectors[SPARSE] = m.SparseVector(indices=idx, values=vals)
            points.append(m.PointStruct(id=point_id(chunk.id), vector=vectors, payload=chunk.payload()))
        if points:
            self.client.upsert(self.collection, points=points, wait=True)

    def set_payloads(self, chunks) -> None:
        m = self._m
        ops = [m.OverwritePayloadOperation(overwrite_payload=m.SetPayload(payload=c.payload(), points=[point_id(c.id)]))
               for c in chunks]
        for start in range(0, len(ops), 256):  # one request per 256 points, not one per point
            self.client.batch_update_points(self.collection, update_operations=ops[start:start + 256], wait=True)

    def delete(self, chunk_ids) -> None:
        ids = [point_id(c) for c in chunk_ids]
        if ids:
            self.client.delete(self.collection, points_selector=self._m.PointIdsList(points=ids), wait=True)

    def manifest(self, filters: Filters | None = None) -> dict[str, StoredState]:
        out: dict[str, StoredState] = {}
        offset = None
        while True:
            records, offset = self.client.scroll(self.collection, scroll_filter=self._filter(filters), limit=2048,
                                                 offset=offset, with_payload=MANIFEST_FIELDS, with_vectors=False)
            for r in records:
                out.update([_stored_state(r)])
            if offset is None:
                return out

    def count(self, filters: Filters | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=self._filter(filters), exact=True).count)

    def _hybrid(self, dense, sparse, filters, candidates):
        m = self._m
        flt = self._filter(filters)
        prefetch = [m.Prefetch(query=dense.tolist(), using=DENSE, limit=candidates, filter=flt)]
        if sparse[0]:
            prefetch.append(m.Prefetch(query=m.SparseVector(indices=sparse[0], values=sparse[1]), using=SPARSE,
                                       limit=candidates, filter=flt))
        try:
            result = self.client.query_points(
                self.collection, prefetch=prefetch, query=m.RrfQuery(rrf=m.Rrf(k=RRF_K)), query_filter=flt,
                limit=candidates, with_payload=True, with_vectors=[DENSE])
        except Exception as exc:  # noqa: BLE001 - qdrant_client's UnexpectedResponse for an old server
            status = getattr(exc, "status_code", None)
            if status in (400, 422) and "rrf" in str(exc).lower():
                raise StoreError(
                    f"the Qdrant server at {self.url} does not understand parametrised RRF "
                    "(hybrid search needs Qdrant 1.16 or newer; 1.19+ matches qdrant-client 1.20): "
                    "upgrade the server") from None
            raise
        out = []
        for p in result.points:
            vec = (p.vector or {}).get(DENSE) if isinstance(p.vector, dict) else None
            out.append((Hit.from_payload(p.payload or {}, p.score),
                        np.asarray(vec, dtype=np.float32) if vec is not None else None))
        return out

    def dense_search(self, dense, filters=None, limit=10, exact=False, hnsw_ef=None) -> list[Hit]:
        m = self._m
        result = self.client.query_points(
            self.collection, query=np.asarray(dense, dtype=np.float32).tolist(), using=DENSE,
            query_filter=self._filter(filters), limit=limit, with_payload=["chunk_id"],
            search_params=m.SearchParams(exact=exact, hnsw_ef=hnsw_ef))
        return [Hit.from_payload(p.payload or {}, p.score) for p in result.points]

    def close(self) -> None:
        if self._owns_client:
            try:
                self.client.close()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------- choosing a backend

def collection_name(model_slug: str) -> str:
    return f"casewright_{model_slug}"


def open_store(*, dim: int, model_slug: str, path: str | Path | None = None, url: str | None = None,
               api_key: str | None = None, client=None) -> KnowledgeStore:
    """The server store when `url` or `client` is given, else the embedded store under `path`.
    Each embedding model gets its own collection (server) or directory (embedded)."""
    if client is not None or url:
        return ServerStore(dim, collection=collection_name(model_slug), url=url, api_key=api_key, client=client)
    if path is None:
        raise StoreError("no knowledge store configured: set CASEWRIGHT_DATA_DIR (embedded) or QDRANT_URL (server)")
    return EmbeddedStore(Path(path) / model_slug, dim)

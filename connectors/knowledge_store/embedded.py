"""`EmbeddedStore`, the default knowledge store: `qdrant-edge-py`, the Qdrant engine inside this
process, on disk under the data directory.

One process at a time may open a store directory; threads of that process share it. A second
process waits for it, up to `lock_wait_s` seconds (`CASEWRIGHT_STORE_LOCK_WAIT`), then gets a
`StoreLockedError` that says what to do. Callers that hold the store only for as long as they
need it (the `retrieve` node opens it for its searches and closes it) therefore take turns:
several worker processes on one embedded store run concurrent jobs, one retrieval at a time.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from connectors.knowledge_store.interface import (
    DENSE,
    INDEXED_FIELDS,
    MANIFEST_FIELDS,
    RRF_K,
    SPARSE,
    Filters,
    Hit,
    KnowledgeStore,
    StoredState,
    StoreError,
    StoreLockedError,
    point_id,
    stored_state,
)
from connectors.settings import STORE_LOCK_WAIT_S


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


def _locked_message(path: Path, holder: str, waited_s: float) -> str:
    who = f" (process {holder})" if holder else ""
    waited = f" and was not released within {waited_s:g}s" if waited_s > 0 else ""
    return (
        f"the embedded knowledge store {path} is already open in another process{who}{waited}; the embedded "
        f"Qdrant engine allows one process at a time. Wait for that process to finish (a long `casewright "
        f"ingest`?) or raise CASEWRIGHT_STORE_LOCK_WAIT, or set QDRANT_URL (and QDRANT_API_KEY) to use a "
        f"Qdrant server, which any number of processes share"
    )


def _flock_within(lock_file, wait_s: float) -> bool:
    """Take the exclusive lock on `lock_file`, polling for at most `wait_s` seconds."""
    deadline = time.monotonic() + max(0.0, wait_s)
    pause = 0.02
    while True:
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)


def _holder(lock_file) -> str:
    lock_file.seek(0)
    return lock_file.read().strip()


class EmbeddedStore(KnowledgeStore):
    backend = "embedded"

    @staticmethod
    def check_available(path: str | Path, lock_wait_s: float = STORE_LOCK_WAIT_S) -> None:
        """Wait (at most `lock_wait_s` seconds) until no other process holds the store at `path`,
        else raise StoreLockedError (so a command fails before it spends seconds loading an
        embedding model)."""
        path = Path(path)
        with _shards_lock:
            if str(path.resolve()) in _shards:
                return
        lock_path = path.parent / f"{path.name}.lock"
        if not lock_path.exists():
            return
        with open(lock_path, "a+") as fh:
            if not _flock_within(fh, lock_wait_s):
                raise StoreLockedError(_locked_message(path, _holder(fh), lock_wait_s))
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def __init__(self, path: str | Path, dim: int, *, hnsw_m: int = 16, hnsw_ef_construct: int = 100,
                 full_scan_threshold_kb: int = 10_000, lock_wait_s: float = STORE_LOCK_WAIT_S) -> None:
        super().__init__(dim)
        self.path = Path(path)
        self.lock_wait_s = lock_wait_s
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
        if not _flock_within(lock_file, self.lock_wait_s):
            holder = _holder(lock_file)
            lock_file.close()
            raise StoreLockedError(_locked_message(self.path, holder, self.lock_wait_s))
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
                raise StoreLockedError(_locked_message(self.path, "", 0)) from None
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
                out.update([stored_state(r)])
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

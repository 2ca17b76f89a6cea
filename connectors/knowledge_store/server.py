"""`ServerStore`: the knowledge store on a Qdrant server through `qdrant-client` (`QDRANT_URL`,
`QDRANT_API_KEY`), for deployments with several worker processes or machines.

`QdrantClient(":memory:")` (local mode) speaks the same API and is what the tests run.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from connectors.errors import CasewrightError
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
    point_id,
    stored_state,
)


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
                out.update([stored_state(r)])
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

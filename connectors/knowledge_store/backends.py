"""Choosing a knowledge-store backend: the server store when a Qdrant server is configured, else
the embedded one; each embedding model gets its own collection or directory."""

from __future__ import annotations

from pathlib import Path

from connectors.knowledge_store.embedded import EmbeddedStore
from connectors.knowledge_store.interface import KnowledgeStore, StoreError
from connectors.knowledge_store.server import ServerStore
from connectors.settings import STORE_LOCK_WAIT_S


def collection_name(model_slug: str) -> str:
    return f"casewright_{model_slug}"


def open_store(*, dim: int, model_slug: str, path: str | Path | None = None, url: str | None = None,
               api_key: str | None = None, client=None, lock_wait_s: float = STORE_LOCK_WAIT_S) -> KnowledgeStore:
    """The server store when `url` or `client` is given, else the embedded store under `path`
    (waiting at most `lock_wait_s` seconds while another process holds it). Each embedding model
    gets its own collection (server) or directory (embedded)."""
    if client is not None or url:
        return ServerStore(dim, collection=collection_name(model_slug), url=url, api_key=api_key, client=client)
    if path is None:
        raise StoreError("no knowledge store configured: set CASEWRIGHT_DATA_DIR (embedded) or QDRANT_URL (server)")
    return EmbeddedStore(Path(path) / model_slug, dim, lock_wait_s=lock_wait_s)

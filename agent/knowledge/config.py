"""Where the knowledge base lives and which model embeds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.embedding_backends import BACKENDS, DEFAULT_BACKEND
from connectors.embeddings import DEFAULT_MODEL, embedding_slug
from connectors.settings import STORE_LOCK_WAIT_S

RULE_KINDS = ["page_section"]
CASE_KINDS = ["test_case"]


@dataclass(frozen=True)
class StoreConfig:
    """Where the knowledge base lives and which model embeds it."""

    data_dir: str = ".casewright"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = field(default=None, repr=False)
    embedding_model: str = DEFAULT_MODEL
    embedding_backend: str = DEFAULT_BACKEND
    model_cache_dir: str | None = None
    top_k: int = 5
    lock_wait_s: float = STORE_LOCK_WAIT_S
    """How long to wait for the embedded store while another process holds it."""

    @classmethod
    def from_settings(cls, settings: Any) -> "StoreConfig":
        key = getattr(settings, "qdrant_api_key", None)
        return cls(
            data_dir=str(settings.data_dir),
            qdrant_url=settings.qdrant_url or None,
            qdrant_api_key=key.get_secret_value() if key is not None else None,
            embedding_model=settings.embedding_model or DEFAULT_MODEL,
            embedding_backend=getattr(settings, "embedding_backend", DEFAULT_BACKEND),
            model_cache_dir=str(settings.models_path) if hasattr(settings, "models_path") else None,
            top_k=int(settings.retrieval_top_k),
            lock_wait_s=float(settings.store_lock_wait_s),
        )

    @property
    def store_path(self) -> Path:
        return Path(self.data_dir) / "qdrant"

    @property
    def backend(self) -> str:
        return "server" if self.qdrant_url else "embedded"

    @property
    def models_path(self) -> Path:
        return Path(self.model_cache_dir) if self.model_cache_dir else Path(self.data_dir) / "models"

    @property
    def slug(self) -> str:
        """The store of this model on this embedding backend (backends never share a store)."""
        return embedding_slug(self.embedding_model, self.embedding_backend)

    def embedded_store_exists(self, backend: str | None = None) -> bool:
        slug = embedding_slug(self.embedding_model, backend) if backend else self.slug
        return (self.store_path / slug / "edge_config.json").exists()

    def other_backend_store(self) -> str | None:
        """The embedding backend an existing embedded store of this model was built with, when
        there is none for the configured backend (None: no such store)."""
        return next((b for b in BACKENDS if b != self.embedding_backend and self.embedded_store_exists(b)), None)

    def backend_mismatch(self, other: str) -> str:
        return (f"the knowledge base under {self.store_path} was embedded with the {other} backend and "
                f"CASEWRIGHT_EMBEDDING_BACKEND is {self.embedding_backend}; vectors of two backends are never "
                f"mixed: run `casewright ingest` to embed it again with {self.embedding_backend}, or set the "
                f"backend back to {other}")

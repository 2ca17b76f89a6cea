"""Where the knowledge base lives and which model embeds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.embeddings import DEFAULT_MODEL, model_slug
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
            top_k=int(settings.retrieval_top_k),
            lock_wait_s=float(settings.store_lock_wait_s),
        )

    @property
    def store_path(self) -> Path:
        return Path(self.data_dir) / "qdrant"

    @property
    def backend(self) -> str:
        return "server" if self.qdrant_url else "embedded"

    def embedded_store_exists(self) -> bool:
        return (self.store_path / model_slug(self.embedding_model) / "edge_config.json").exists()

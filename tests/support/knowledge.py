"""Shared by the knowledge-base tests: the real embedding model, one thread per test worker, with a
per-process cache of the vectors it has already computed (the same sample texts are embedded for
each backend; computing them once keeps the suite fast; every vector still comes from the model)."""

from __future__ import annotations

import numpy as np

from connectors.embeddings import get_embedder


class CachedEncoder:
    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vec in zip(missing, self.inner.encode(missing)):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


_shared: CachedEncoder | None = None


def shared_encoder() -> CachedEncoder:
    global _shared
    if _shared is None:
        import torch

        torch.set_num_threads(1)  # the suite runs one worker per core; more threads only contend
        _shared = CachedEncoder(get_embedder())
    return _shared

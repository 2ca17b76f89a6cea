"""BM25 sparse vectors for the knowledge store, the same for both backends."""

from __future__ import annotations

from typing import Sequence

import qdrant_edge as qe


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

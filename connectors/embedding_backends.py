"""The embedding backends (`CASEWRIGHT_EMBEDDING_BACKEND`): one list, read by the settings and by
connectors/embeddings.py. Kept apart so that reading the settings imports no numerical library."""

from __future__ import annotations

BACKENDS = ("torch", "onnx", "onnx-int8")  # the onnx ones: connectors/onnx_embedder.py
DEFAULT_BACKEND = "torch"


def normalise_backend(value: str | None) -> tuple[str, str | None]:
    """(the backend's canonical name, None) or (the value, what is wrong with it)."""
    name = (value or DEFAULT_BACKEND).strip().lower()
    if name in BACKENDS:
        return name, None
    return str(value), f"unknown embedding backend '{value}'; choose from {', '.join(BACKENDS)}"

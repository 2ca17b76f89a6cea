"""The ONNX Runtime backend of the embedding model (`CASEWRIGHT_EMBEDDING_BACKEND=onnx|onnx-int8`).

On first use the sentence-transformers model is exported, offline, from its own weights to ONNX
(torch's exporter) and, for `onnx-int8`, quantised (ONNX Runtime's dynamic int8 quantisation of
the MatMul weights, per channel). The export is cached under the model cache directory (by
default `<CASEWRIGHT_DATA_DIR>/models`), in a folder named for the model, a hash of its weight
files and the backend, so a changed model is exported again and two backends never share files.
Later processes load the cached files with onnxruntime and `tokenizers` alone: no torch import.

Encoding sorts the texts by token length and runs them in small batches (less padding: on a
2-core CPU, batches of 8 beat 32), then mean-pools over the attention mask and L2-normalises,
as the model's own Pooling and Normalize modules do. `bench/embeddings.py` measures it against
torch on the same texts; docs/knowledge-base.md quotes the figures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from connectors.errors import CasewrightError

log = logging.getLogger(__name__)

ONNX_BATCH_SIZE = 8
OPSET = 17
MANIFEST = "casewright-export.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin")


class OnnxExportError(CasewrightError):
    """The model cannot be exported to, or loaded from, ONNX on this machine."""


def weights_digest(model_dir: Path) -> str:
    """A hash of the model's weight files and configs: the export is redone when any changes."""
    digest = hashlib.sha256()
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and
                   (p.suffix in WEIGHT_SUFFIXES or p.name in ("config.json", "tokenizer.json",
                                                              "sentence_bert_config.json")))
    if not files:
        raise OnnxExportError(f"no weight files under {model_dir}; the onnx backends need a local "
                              "sentence-transformers model directory")
    for path in files:
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def export_dir(cache_dir: Path, slug: str, model_dir: Path, quantized: bool) -> Path:
    return cache_dir / f"{slug}-{weights_digest(model_dir)}-{'onnx-int8' if quantized else 'onnx'}"


def ensure_export(model, model_dir: Path, target: Path, quantized: bool) -> Path:
    """Export `model` (a loaded SentenceTransformer, or a callable giving one) into `target` unless
    a complete export is already there. Written to a temporary folder and renamed into place, so
    processes exporting at once never see half a folder."""
    if (target / MANIFEST).exists():
        return target
    st = model() if callable(model) and not hasattr(model, "encode") else model
    _check_supported(st)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fused = _export(st, model_dir, work / "model-fp32.onnx")
        if quantized:
            from onnx import TensorProto
            from onnxruntime.quantization import QuantType, quantize_dynamic

            logging.disable(logging.WARNING)  # its advice to pre-process is for image models
            try:
                quantize_dynamic(str(work / "model-fp32.onnx"), str(work / "model.onnx"), per_channel=True,
                                 op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                                 extra_options={"DefaultTensorType": TensorProto.FLOAT})
            finally:
                logging.disable(logging.NOTSET)
            (work / "model-fp32.onnx").unlink()
        else:
            (work / "model-fp32.onnx").rename(work / "model.onnx")
        tokenizer_json = model_dir / "tokenizer.json"
        if tokenizer_json.exists():
            shutil.copyfile(tokenizer_json, work / "tokenizer.json")
        else:
            st.tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
        pooling = st[1].get_config_dict()
        manifest = {"source": str(model_dir), "max_seq_length": int(st.max_seq_length),
                    "pooling_mode": pooling.get("pooling_mode", "mean"),
                    "normalize": any(type(m).__name__ == "Normalize" for m in st),
                    "dim": _dimension(st), "quantized": quantized, "fused": fused, "opset": OPSET}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        try:
            work.rename(target)
        except OSError:  # another process finished first: use its export
            if not (target / MANIFEST).exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("exported %s to %s", model_dir, target)
    return target


def _dimension(st) -> int:
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(getter())


def _check_supported(st) -> None:
    kinds = [type(m).__name__ for m in st]
    if len(kinds) < 2 or kinds[0] != "Transformer" or kinds[1] != "Pooling" or \
            any(k not in ("Normalize",) for k in kinds[2:]):
        raise OnnxExportError(f"the onnx backends support Transformer + Pooling (+ Normalize) models; this one is "
                              f"{' + '.join(kinds)}: set CASEWRIGHT_EMBEDDING_BACKEND=torch")
    mode = st[1].get_config_dict().get("pooling_mode")
    if mode not in ("mean", "cls"):
        raise OnnxExportError(f"the onnx backends support mean or cls pooling, not {mode!r}: "
                              "set CASEWRIGHT_EMBEDDING_BACKEND=torch")


def _export(st, model_dir: Path, path: Path) -> bool:
    """Export the transformer with plain ("eager") attention, whose pattern ONNX Runtime's
    transformer optimizer fuses (Attention, SkipLayerNormalization, BiasGelu); returns whether
    the fused graph was written (else the plain export is, which is slower but the same model)."""
    import warnings

    import torch
    from transformers import AutoModel

    try:
        network = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True)
    except Exception:  # noqa: BLE001 - a model whose weights sit elsewhere: export the loaded one
        network = st[0].auto_model
    network = network.eval()
    sample = st.tokenizer(["an example sentence to trace"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}

    class Encoder(torch.nn.Module):  # positional inputs, one named output
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, *inputs):  # noqa: ANN002, ANN202
            return self.network(**dict(zip(names, inputs))).last_hidden_state

    plain = path.with_name("model-plain.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Encoder(), tuple(sample[n] for n in names), str(plain), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False)
    config = network.config
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(str(plain), model_type="bert", num_heads=int(config.num_attention_heads),
                                         hidden_size=int(config.hidden_size), opt_level=1)
        if fused.get_fused_operator_statistics().get("Attention", 0) == 0:
            raise ValueError("no attention fused")
        fused.save_model_to_file(str(path))
        plain.unlink()
        return True
    except Exception as exc:  # noqa: BLE001 - an architecture the optimizer does not know
        log.info("ONNX Runtime's optimizer did not fuse %s (%s); using the plain export", model_dir, exc)
        plain.rename(path)
        return False


class OnnxEmbedder:
    """The exported model under onnxruntime: `encode(texts)` -> (n, dim) float32, unit length."""

    def __init__(self, name: str, folder: Path, *, slug: str, threads: int | None = None,
                 batch_size: int = ONNX_BATCH_SIZE) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        manifest = json.loads((folder / MANIFEST).read_text())
        self.name = name
        self.slug = slug
        self.folder = folder
        self.dim = int(manifest["dim"])
        self.batch_size = batch_size
        self._pooling = manifest["pooling_mode"]
        self._normalize = bool(manifest["normalize"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(int(manifest["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged cache, described once
            raise OnnxExportError(f"cannot load the exported model in {folder} ({exc}); delete that folder "
                                  "and it is exported again") from None
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                out[rows] = self._run([encodings[i] for i in rows])
        return out

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {k: feeds[k] for k in self._inputs})[0]
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self._normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, dim={self.dim}, folder={str(self.folder)!r})"

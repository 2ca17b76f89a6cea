"""A trained LoRA adapter (peft) as a llama.cpp adapter GGUF, so the local model server
(connectors/local_model.py, `casewright llm serve --lora`) serves the base with it applied.

    write_gguf_adapter(ADAPTER_DIR, BASE_GGUF, OUT_FILE)

- The base must be the GGUF file the adapter was trained on (`casewright finetune train --base
  FILE.gguf` dequantises it, so the trained weights sit on exactly the base the server runs).
- The file holds `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha` and, per
  adapted layer, `blk.N.<tensor>.weight.lora_a` (r x in) and `.lora_b` (out x r) under llama.cpp's
  tensor names. llama.cpp scales B·A by alpha / r, as peft does.
- llama.cpp stores a llama-architecture model's query and key projections with their output rows
  permuted per head (the RoPE layout its converter writes; transformers undoes it when it loads
  the GGUF). The same permutation is applied to the rows of B for q and k, so B·A lands on the
  rows llama.cpp multiplies. tests/agent/finetune/test_gguf_adapter.py checks the served logits
  against the peft model's.
- Only llama-architecture bases are converted (SmolLM2, Llama, Mistral as GGUF); another
  architecture, DoRA, or per-layer rank/alpha patterns are refused with one line.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.errors import CasewrightError
from connectors.local_model import ADAPTER_GGUF

__all__ = ["ADAPTER_GGUF", "AdapterConversionError", "write_adapter_file", "write_gguf_adapter"]
SUPPORTED_ARCHITECTURES = ("llama",)
# peft module path (under model.layers.N.) -> llama.cpp tensor name (under blk.N.)
LAYER_TENSORS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?model\.layers\.(\d+)\.(.+)\.lora_([AB])(?:\.default)?\.weight$")


class AdapterConversionError(CasewrightError):
    """The adapter cannot be written as a llama.cpp adapter; the message says why."""


@dataclass
class BaseInfo:
    architecture: str
    n_head: int
    n_head_kv: int
    tensor_shapes: dict[str, tuple[int, ...]]   # name -> (out, in), numpy order


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def read_base(base_gguf: str | Path) -> BaseInfo:
    from gguf import GGUFReader

    path = Path(base_gguf)
    if not path.is_file():
        raise AdapterConversionError(f"base GGUF file {str(path)!r} does not exist; pass the file the adapter was trained on")
    try:
        reader = GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise AdapterConversionError(f"{str(path)!r} is not a readable GGUF file ({exc})") from None
    arch = str(_field(reader, "general.architecture") or "")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise AdapterConversionError(
            f"the base's architecture is {arch or 'unknown'!r}; only {', '.join(SUPPORTED_ARCHITECTURES)} bases are "
            "converted to a llama.cpp adapter (train with --merge and convert the merged model instead)")
    n_head = int(_field(reader, f"{arch}.attention.head_count") or 0)
    n_head_kv = int(_field(reader, f"{arch}.attention.head_count_kv") or n_head)
    shapes = {t.name: tuple(int(x) for x in reversed(list(t.shape))) for t in reader.tensors}
    return BaseInfo(arch, n_head, n_head_kv, shapes)


def permute_rows(b: Any, n_head: int) -> Any:
    """llama.cpp's per-head row order for a q/k projection, applied to the rows (outputs) of B:
    within each head, the two interleaved halves of the rotary pairs are laid out one after the other."""
    out = b.shape[0]
    if out % (2 * n_head):
        raise AdapterConversionError(f"a projection with {out} rows does not split into {n_head} heads")
    return b.reshape(n_head, 2, out // n_head // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def _read_config(adapter_dir: Path) -> dict[str, Any]:
    cfg_path = adapter_dir / "adapter_config.json"
    if not cfg_path.is_file():
        raise AdapterConversionError(f"{adapter_dir} has no adapter_config.json; pass the adapter folder "
                                     "`casewright finetune train` wrote (OUT/adapter)")
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if cfg.get("peft_type") != "LORA":
        raise AdapterConversionError(f"{adapter_dir} holds a {cfg.get('peft_type')} adapter; only LoRA is converted")
    if cfg.get("use_dora"):
        raise AdapterConversionError("a DoRA adapter cannot be served by llama.cpp; train a plain LoRA")
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise AdapterConversionError("the adapter has per-layer rank or alpha patterns; llama.cpp takes one alpha")
    return cfg


def _read_weights(adapter_dir: Path) -> dict[str, Any]:
    from safetensors import safe_open

    path = adapter_dir / "adapter_model.safetensors"
    if not path.is_file():
        raise AdapterConversionError(f"{adapter_dir} has no adapter_model.safetensors")
    out = {}
    with safe_open(str(path), framework="pt") as fh:
        for key in fh.keys():
            out[key] = fh.get_tensor(key).float().numpy()
    return out


def lora_tensors(adapter_dir: str | Path, base: BaseInfo) -> tuple[dict[str, Any], float]:
    """(llama.cpp tensor name -> float32 array, alpha): the adapter in llama.cpp's layout."""
    import numpy as np

    d = Path(adapter_dir)
    cfg = _read_config(d)
    r = int(cfg["r"])
    alpha = float(cfg.get("lora_alpha") or r)
    if cfg.get("use_rslora"):   # peft scales by alpha / sqrt(r); llama.cpp by alpha / r
        alpha = alpha * math.sqrt(r)
    tensors: dict[str, Any] = {}
    for key, value in sorted(_read_weights(d).items()):
        m = _PEFT_KEY.match(key)
        if not m or m.group(2) not in LAYER_TENSORS:
            raise AdapterConversionError(f"adapter tensor {key!r} has no llama.cpp counterpart; train the "
                                         "attention and MLP projections only (the default, all-linear)")
        layer, module, which = int(m.group(1)), m.group(2), m.group(3)
        target = f"blk.{layer}.{LAYER_TENSORS[module]}.weight"
        if target not in base.tensor_shapes:
            raise AdapterConversionError(f"the base has no tensor {target}; was the adapter trained on this base?")
        arr = np.ascontiguousarray(value, dtype=np.float32)
        if which == "B" and module == "self_attn.q_proj":
            arr = np.ascontiguousarray(permute_rows(arr, base.n_head))
        elif which == "B" and module == "self_attn.k_proj":
            arr = np.ascontiguousarray(permute_rows(arr, base.n_head_kv))
        tensors[f"{target}.lora_{which.lower()}"] = arr
    for name in [n for n in tensors if n.endswith(".lora_a")]:
        target = name[: -len(".lora_a")]
        b = tensors.get(target + ".lora_b")
        a = tensors[name]
        out_dim, in_dim = base.tensor_shapes[target]
        if b is None or a.shape != (a.shape[0], in_dim) or b.shape != (out_dim, a.shape[0]):
            raise AdapterConversionError(f"the adapter's {target} does not fit the base's {out_dim}x{in_dim} "
                                         "weight; was it trained on this base?")
    if not tensors:
        raise AdapterConversionError(f"{d} holds no LoRA weights")
    return tensors, alpha


def write_gguf_adapter(adapter_dir: str | Path, base_gguf: str | Path, out_file: str | Path) -> Path:
    """Convert a peft LoRA adapter to a llama.cpp adapter GGUF for the given base; returns the file."""
    base = read_base(base_gguf)
    tensors, alpha = lora_tensors(adapter_dir, base)
    return write_adapter_file(out_file, base.architecture, tensors, alpha)


def write_adapter_file(out_file: str | Path, architecture: str, tensors: dict[str, Any], alpha: float) -> Path:
    """The GGUF file itself: the adapter keys llama.cpp checks, then the tensors."""
    from gguf import GGUFWriter, Keys

    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(out), arch=architecture)
    writer.add_type("adapter")
    writer.add_string(Keys.Adapter.TYPE, "lora")
    writer.add_float32(Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name("casewright UAT-case adapter")
    for name, arr in tensors.items():
        writer.add_tensor(name, arr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out

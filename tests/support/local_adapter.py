"""A LoRA adapter on the packaged SmolLM2-135M-Instruct GGUF for the tests, with no download:
either trained for a few steps by `train_from_export` on the sample project's export, or given
random weights (large enough to move the logits) for the numeric checks against llama.cpp."""

from __future__ import annotations

from pathlib import Path

from agent.finetune.train import TrainConfig
from connectors.local_model import packaged_model_path

# Few steps on short examples: the suite trains on two CPU cores
TINY_TRAINING = TrainConfig(steps=2, batch_size=1, grad_accum=1, lora_r=4, lora_alpha=8, max_length=768,
                            learning_rate=1e-3)
PROBE = ("Feature: Refund a card payment\n  Scenario: Verify that a refund over the limit is declined\n"
         "    Given a payment of $2,500.00\n    When I request a refund of $2,500.01\n    Then")


def tiny_export(out_dir: Path) -> Path:
    """An export folder (the OpenAI chat JSONL `finetune export` writes) of short examples from the
    sample project: a story's summary and criteria -> its first approved case as JSON. The
    production prompts are ~4,200 tokens; these keep the CPU steps to seconds."""
    import json

    from agent.finetune.workspace import stories_from_workspace
    from connectors.workspace import SAMPLE_PATH, load_workspace

    lines = []
    for story in stories_from_workspace(load_workspace(SAMPLE_PATH)):
        if not story.approved_cases:
            continue
        criteria = "\n".join(f"- {c.id}: {c.text}" for c in story.criteria)
        case = story.approved_cases[0].model_dump(mode="json")
        lines.append(json.dumps({"messages": [
            {"role": "system", "content": "Write UAT cases as JSON."},
            {"role": "user", "content": f"{story.key}: {story.summary}\n{criteria}"},
            {"role": "assistant", "content": json.dumps({"cases": [case]})}]}))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    (out_dir / "validation.jsonl").write_text(lines[-1] + "\n", encoding="utf-8")
    return out_dir


def train_tiny_adapter(out_dir: Path):
    """Train a LoRA for TINY_TRAINING's steps on the packaged GGUF with `train_from_export`; the
    result has `gguf_adapter`, the llama.cpp adapter file."""
    from agent.finetune.train import train_from_export

    return train_from_export(str(packaged_model_path()), tiny_export(out_dir / "data"), out_dir / "ft", TINY_TRAINING)


def random_lora(out_dir: Path, *, r: int = 8, alpha: int = 32, scale: float = 0.04, seed: int = 7):
    """(peft model, tokenizer, adapter folder): the packaged base with a LoRA on every projection
    whose B is random (peft starts B at zero, which would make any conversion look right)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from agent.finetune.train import load_base

    model, tok = load_base(str(packaged_model_path()), device="cpu")
    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name or "lora_A" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * scale)
    peft_model.eval()
    adapter_dir = out_dir / "adapter"
    peft_model.save_pretrained(str(adapter_dir))
    return peft_model, tok, adapter_dir


def hf_logits(model, token_ids: list[int]):
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([token_ids])).logits[0].float().numpy()


def llama_cpp_logits(model_path: Path, token_ids: list[int], lora_path: Path | None = None):
    """llama.cpp's logits for every position (in-process, the engine the server runs)."""
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model_path=str(model_path), lora_path=str(lora_path) if lora_path else None, n_ctx=256,
                logits_all=True, n_threads=2, n_batch=256, verbose=False)
    try:
        llm.eval(token_ids)
        return np.array(llm.scores[: len(token_ids)], dtype=np.float32)
    finally:
        llm.close()


def unpermuted(tensors: dict, n_head: int, n_head_kv: int) -> dict:
    """The same tensors with q/k's B rows left in peft's order: what a converter that forgot
    llama.cpp's per-head row permutation would write (the numeric check must catch it)."""
    import numpy as np

    def undo(b, n):
        rows = b.shape[0]
        return np.ascontiguousarray(b.reshape(n, rows // n // 2, 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape))

    out = dict(tensors)
    for name, value in tensors.items():
        if name.endswith(".attn_q.weight.lora_b"):
            out[name] = undo(value, n_head)
        elif name.endswith(".attn_k.weight.lora_b"):
            out[name] = undo(value, n_head_kv)
    return out


def ft_chat_model(server, **overrides):
    """ChatOpenAI for the server's fine-tuned model (`local-ft`), built the way a run builds it."""
    from agent.llm.provider import ModelOptions, build_chat_model
    from connectors.local_model import FT_MODEL_ALIAS
    from support.local_model import llm_options

    return build_chat_model(ModelOptions.of(f"openai-compatible:{FT_MODEL_ALIAS}", llm_options(server, **overrides)))

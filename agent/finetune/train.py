"""LoRA supervised fine-tuning on an export (agent/finetune/export.py) with transformers + peft + trl.

    casewright finetune train --base MODEL_DIR_OR_NAME --data DIR --out DIR [--merge] [--steps N]

- The base is a local model directory, a Hugging Face model name already in the local cache, or
  a `.gguf` file (transformers dequantises it on load). Nothing is downloaded unless asked.
- Each chat example becomes a conversational prompt/completion pair (system + user -> assistant)
  and TRL computes the loss on the completion only: the model learns to write the team's
  cases, not to repeat the prompts.
- GPU when there is one (bf16 where supported), the CPU otherwise.
- Saves the LoRA adapter under OUT/adapter (with merge, a standalone model under OUT/merged; on a
  .gguf base, OUT/adapter.gguf for llama.cpp: gguf_adapter.py), plus OUT/README.md: a model card
  with the data hash, the hyper-parameters and the validation loss before and after, and
  OUT/training.json with the same figures. Needs: pip install 'casewright[finetune]'.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.finetune.export import MANIFEST_FILE, TRAIN_FILE, VALIDATION_FILE, data_hash
from connectors.errors import CasewrightError


class FinetuneTrainError(CasewrightError):
    """Training cannot start or finish; the message says why and what to do."""


@dataclass
class TrainConfig:
    steps: int = 60                  # optimiser steps; 0 means train for `epochs` instead
    epochs: float = 3.0
    learning_rate: float = 2e-4
    batch_size: int = 1
    grad_accum: int = 4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    max_length: int = 2048
    warmup_steps: int = 0
    seed: int = 42
    gradient_checkpointing: bool = False


@dataclass
class TrainResult:
    out_dir: Path
    adapter_dir: Path
    merged_dir: Path | None
    device: str
    steps: int
    train_examples: int
    validation_examples: int
    losses: list[float] = field(default_factory=list)
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    seconds: float = 0.0
    data_hash: str = ""
    extra_metrics: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)      # the trained (peft) model, for evaluation in-process
    gguf_adapter: Path | None = None                  # OUT/adapter.gguf for llama.cpp, when the base is a .gguf


def require_extra() -> None:
    missing = []
    for mod in ("peft", "trl", "datasets", "accelerate"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise FinetuneTrainError(f"training needs {', '.join(missing)}: pip install 'casewright[finetune]'")


# -- data -----------------------------------------------------------------------------------------
def read_chat_jsonl(path: Path) -> list[dict[str, Any]]:
    """Chat examples -> conversational prompt/completion records for TRL."""
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FinetuneTrainError(f"{path}:{n} is not JSON ({exc.msg}); re-run `casewright finetune export`") from None
        msgs = doc.get("messages") if isinstance(doc, dict) else None
        if not isinstance(msgs, list) or len(msgs) < 2 or msgs[-1].get("role") != "assistant":
            raise FinetuneTrainError(f"{path}:{n} is not a chat example ending with an assistant message")
        records.append({"prompt": msgs[:-1], "completion": [msgs[-1]]})
    return records


def load_export(data_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    d = Path(data_dir)
    train_path = d / TRAIN_FILE
    if not train_path.exists():
        raise FinetuneTrainError(f"{train_path} not found; --data takes the folder `casewright finetune export` wrote")
    train = read_chat_jsonl(train_path)
    if not train:
        raise FinetuneTrainError(f"{train_path} has no examples; export stories that have approved cases")
    val_path = d / VALIDATION_FILE
    val = read_chat_jsonl(val_path) if val_path.exists() else []
    manifest_path = d / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    manifest.setdefault("data_hash", data_hash(train_path, val_path))
    return train, val, manifest


# -- models ---------------------------------------------------------------------------------------
def pick_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def load_base(base: str, *, allow_download: bool = False, device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) from a model directory, a cached hub name or a .gguf file."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or pick_device()
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    p = Path(base)
    try:
        if p.suffix == ".gguf":
            if not p.is_file():
                raise FinetuneTrainError(f"GGUF file not found: {p}")
            from transformers import GgufConfig

            tok = AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name)
            # Unpack the quantised blocks into plain dense weights: packed GGUF layers cannot be trained.
            model = AutoModelForCausalLM.from_pretrained(
                str(p.parent), gguf_file=p.name, dtype=dtype,
                quantization_config=GgufConfig(gguf_file=p.name, dequantize=True))
        else:
            local = not allow_download
            if not p.exists() and not local and "/" not in base:
                raise FinetuneTrainError(f"base model {base!r} is neither a local folder nor a hub name")
            tok = AutoTokenizer.from_pretrained(base, local_files_only=local)
            model = AutoModelForCausalLM.from_pretrained(base, local_files_only=local, dtype=dtype)
    except FinetuneTrainError:
        raise
    except OSError as exc:
        hint = "" if allow_download else " (nothing is downloaded without --allow-download)"
        raise FinetuneTrainError(f"cannot load base model {base!r}: {str(exc).splitlines()[0]}{hint}") from None
    prepare_tokenizer(tok)
    return model, tok


def prepare_tokenizer(tok: Any) -> None:
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not getattr(tok, "chat_template", None):
        raise FinetuneTrainError("the base model's tokenizer has no chat template; use an instruct/chat model")


def train_lora(model: Any, tokenizer: Any, train: list[dict[str, Any]], validation: list[dict[str, Any]],
               out_dir: str | Path, config: TrainConfig | None = None, *, merge: bool = False,
               base_name: str = "", manifest: dict[str, Any] | None = None, device: str | None = None,
               quiet: bool = True) -> TrainResult:
    """Run LoRA SFT and save adapter, optional merged model and the model card."""
    require_extra()
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    cfg = config or TrainConfig()
    device = device or pick_device()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prepare_tokenizer(tokenizer)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.target_modules, task_type="CAUSAL_LM", bias="none")
    use_bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=cfg.steps if cfg.steps > 0 else -1,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps,
        lr_scheduler_type="constant_with_warmup" if cfg.warmup_steps else "constant",
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        completion_only_loss=True,
        max_length=cfg.max_length,
        seed=cfg.seed,
        use_cpu=device == "cpu",
        bf16=use_bf16,
        disable_tqdm=quiet,
        dataloader_num_workers=0,
        gradient_checkpointing=cfg.gradient_checkpointing,  # TRL turns it on by default; it slows small models
    )
    train_ds = Dataset.from_list(train)
    eval_ds = Dataset.from_list(validation) if validation else None
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=lora)
    if quiet:
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    supervised = _supervised_tokens(trainer.train_dataset, tokenizer)
    if supervised.get("tokens_supervised") == 0:  # every answer cut off: nothing to learn, no loss to report
        raise FinetuneTrainError(f"no answer fits in --max-length {cfg.max_length} tokens after its prompt; raise it")
    started = time.monotonic()
    before = trainer.evaluate()["eval_loss"] if eval_ds is not None else None
    trainer.train()
    after = trainer.evaluate()["eval_loss"] if eval_ds is not None else None
    seconds = time.monotonic() - started

    adapter_dir = out / "adapter"
    trainer.model.save_pretrained(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    merged_dir = None
    if merge:
        merged_dir = out / "merged"
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(merged_dir))
        tokenizer.save_pretrained(str(merged_dir))
    result = TrainResult(
        out_dir=out, adapter_dir=adapter_dir, merged_dir=merged_dir, device=device,
        steps=int(trainer.state.global_step), train_examples=len(train), validation_examples=len(validation),
        losses=[float(h["loss"]) for h in trainer.state.log_history if "loss" in h and "eval_loss" not in h],
        eval_loss_before=before, eval_loss_after=after,
        seconds=round(seconds, 1), data_hash=(manifest or {}).get("data_hash", ""),
        extra_metrics=supervised, model=trainer.model,
    )
    write_model_card(result, cfg, base_name=base_name, manifest=manifest or {})
    return result


def _supervised_tokens(dataset: Any, tokenizer: Any) -> dict[str, Any]:
    """How many tokens carry the loss (the answers) against all tokens, from the labels TRL built
    (-100 marks a token without loss) or its completion mask."""
    cols = getattr(dataset, "column_names", []) or []
    if "input_ids" not in cols:
        return {}
    ids = dataset["input_ids"]
    if "labels" in cols:
        masks = [[int(t != -100) for t in row] for row in dataset["labels"]]
    elif "completion_mask" in cols:
        masks = dataset["completion_mask"]
    else:
        return {}
    first = [t for t, m in zip(ids[0], masks[0]) if m] if len(ids) else []
    return {
        "tokens_total": int(sum(len(x) for x in ids)),
        "tokens_supervised": int(sum(sum(m) for m in masks)),
        "first_supervised_text": tokenizer.decode(first[:64]),
    }


def load_adapter(model: Any, adapter_dir: str | Path) -> Any:
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter_dir))


def generate(model: Any, tokenizer: Any, messages: list[dict[str, str]], *, max_new_tokens: int = 512) -> str:
    """Greedy completion of a chat (the assistant's reply only)."""
    import torch

    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True)


# -- the model card -------------------------------------------------------------------------------
def _fmt(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def write_model_card(result: TrainResult, cfg: TrainConfig, *, base_name: str, manifest: dict[str, Any],
                     eval_table: str | None = None) -> Path:
    """OUT/README.md and OUT/training.json. Called again with `eval_table` to add evaluation figures."""
    out = result.out_dir
    info = {
        "base_model": base_name,
        "data_hash": result.data_hash,
        "device": result.device,
        "steps": result.steps,
        "train_examples": result.train_examples,
        "validation_examples": result.validation_examples,
        "eval_loss_before": result.eval_loss_before,
        "eval_loss_after": result.eval_loss_after,
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "seconds": result.seconds,
        "hyperparameters": asdict(cfg),
        "data": {k: manifest.get(k) for k in ("source", "target", "with_context", "examples", "seed")
                 if k in manifest},
        "metrics": result.extra_metrics,
        "python": platform.python_version(),
    }
    (out / "training.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    hp = "\n".join(f"| {k} | {v} |" for k, v in asdict(cfg).items())
    lines = [
        "---",
        "library_name: peft",
        f"base_model: {base_name or 'unknown'}",
        "tags: [casewright, uat, lora, sft]",
        "---",
        "",
        "# casewright UAT-case adapter",
        "",
        f"LoRA adapter trained by `casewright finetune train` on {result.train_examples} approved-case "
        f"examples ({result.validation_examples} held out for validation, split by story).",
        "",
        "## Data",
        "",
        f"- data hash (sha256 of train.jsonl + validation.jsonl): `{result.data_hash or 'unknown'}`",
    ]
    for k in ("source", "target", "with_context"):
        if k in manifest:
            lines.append(f"- {k}: {manifest[k]}")
    lines += [
        "",
        "## Training",
        "",
        f"- device: {result.device}; optimiser steps: {result.steps}; wall time: {result.seconds} s",
        "- loss on the assistant's tokens only (prompt/completion format)",
        "",
        "| hyper-parameter | value |",
        "|---|---|",
        hp,
        "",
        "## Evaluation",
        "",
        "| measure | value |",
        "|---|---|",
        f"| training loss, first step | {_fmt(info['first_loss'])} |",
        f"| training loss, last step | {_fmt(info['last_loss'])} |",
        f"| validation loss before training | {_fmt(result.eval_loss_before)} |",
        f"| validation loss after training | {_fmt(result.eval_loss_after)} |",
    ]
    for k, v in result.extra_metrics.items():
        if isinstance(v, (int, float)):
            lines.append(f"| {k.replace('_', ' ')} | {v} |")
    if eval_table:
        lines += ["", eval_table.strip()]
    lines += [
        "",
        "## Use",
        "",
        "Trained on a .gguf base: `casewright llm serve --model BASE.gguf --lora OUT` serves it. Or load the",
        "adapter with peft, or serve the merged model (`--merge`) with vLLM or Ollama and point casewright at it:",
        "`CASEWRIGHT_MODEL=openai-compatible:NAME CASEWRIGHT_MODEL_BASE_URL=http://HOST:PORT/v1`.",
        "",
    ]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def append_evaluation(out_dir: str | Path, table: str) -> Path:
    """Put a `casewright eval` table into a trained model's card (replacing an earlier one)."""
    path = Path(out_dir) / "README.md"
    text = path.read_text(encoding="utf-8")
    marker = "\n## casewright eval\n"
    if marker in text:
        text = text[: text.index(marker)]
    path.write_text(text.rstrip() + "\n" + marker + "\n" + table.strip() + "\n", encoding="utf-8")
    return path


def train_from_export(base: str, data_dir: str | Path, out_dir: str | Path, config: TrainConfig | None = None,
                      *, merge: bool = False, allow_download: bool = False, quiet: bool = True) -> TrainResult:
    """The CLI's entry point: load the export and the base, train, save."""
    require_extra()
    train, val, manifest = load_export(data_dir)
    device = pick_device()
    model, tok = load_base(base, allow_download=allow_download, device=device)
    result = train_lora(model, tok, train, val, out_dir, config, merge=merge, base_name=base,
                        manifest=manifest, device=device, quiet=quiet)
    if Path(base).suffix == ".gguf":  # the same base file the local server runs: write the adapter for it
        from agent.finetune.gguf_adapter import ADAPTER_GGUF, write_gguf_adapter

        result.gguf_adapter = write_gguf_adapter(result.adapter_dir, base, result.out_dir / ADAPTER_GGUF)
    return result

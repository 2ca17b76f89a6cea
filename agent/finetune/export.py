"""The fine-tuning export: deduped examples split by story into train and validation chat JSONL,
and a manifest.

Written in the OpenAI fine-tuning format ({"messages": [...]} per line), which TRL's SFT trainer
reads too. The manifest records the story keys, the counts, token statistics (exact with a local
tokenizer, estimated otherwise) and a hash of the data.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.finetune.examples import Example, FinetuneDataError, dedupe, split_by_story

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
MANIFEST_FILE = "manifest.json"


class TokenCounter:
    """Counts tokens with a local Hugging Face tokenizer when one is given, else estimates them
    (about 4 characters per token, the usual rule for English text with OpenAI tokenizers)."""

    def __init__(self, tokenizer: str | None = None) -> None:
        self.exact = False
        self._tok = None
        self.name = "estimate (chars/4)"
        if tokenizer:
            self._tok = _load_tokenizer(tokenizer)
            self.exact = True
            self.name = tokenizer

    def count(self, text: str) -> int:
        if self._tok is not None:
            return len(self._tok(text, add_special_tokens=False)["input_ids"])
        return math.ceil(len(text) / 4)


def _load_tokenizer(spec: str) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError:  # pragma: no cover - transformers is a core dependency here
        raise FinetuneDataError("counting with a tokenizer needs transformers; pip install 'casewright[finetune]'") from None
    p = Path(spec)
    try:
        if p.suffix == ".gguf" and p.is_file():
            return AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name)
        return AutoTokenizer.from_pretrained(spec, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure is the same user problem
        raise FinetuneDataError(f"cannot load tokenizer {spec!r} from local files ({exc.__class__.__name__}); "
                                "pass a local model directory or .gguf file") from None


def _stats(values: list[int]) -> dict[str, float | int]:
    if not values:
        return {"n": 0, "total": 0, "min": 0, "mean": 0, "p95": 0, "max": 0}
    ordered = sorted(values)
    return {"n": len(values), "total": sum(values), "min": ordered[0],
            "mean": round(sum(values) / len(values), 1),
            "p95": ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], "max": ordered[-1]}


def token_stats(examples: Sequence[Example], counter: TokenCounter) -> dict[str, Any]:
    prompt, completion, total = [], [], []
    for ex in examples:
        p = sum(counter.count(m["content"]) for m in ex.messages if m["role"] != "assistant")
        c = sum(counter.count(m["content"]) for m in ex.messages if m["role"] == "assistant")
        prompt.append(p)
        completion.append(c)
        total.append(p + c)
    return {"prompt": _stats(prompt), "completion": _stats(completion), "example": _stats(total)}


@dataclass
class ExportReport:
    out_dir: Path
    train_path: Path
    validation_path: Path
    manifest: dict[str, Any]

    @property
    def data_hash(self) -> str:
        return self.manifest["data_hash"]


def _write_jsonl(path: Path, examples: Sequence[Example]) -> int:
    lines = [json.dumps(ex.record(), ensure_ascii=False) for ex in examples]
    text = "\n".join(lines) + ("\n" if lines else "")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return len(text.encode("utf-8"))


def data_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes() if p.exists() else b"")
        h.update(b"\0")
    return h.hexdigest()


def export_examples(examples: Sequence[Example], out_dir: str | Path, *, validation_fraction: float = 0.2,
                    seed: int = 13, tokenizer: str | None = None, meta: dict[str, Any] | None = None,
                    redactions: Counter[str] | None = None, skipped: Sequence[dict[str, str]] = (),
                    validation_stories: Sequence[str] | None = None) -> ExportReport:
    """Dedupe, split by story, write train/validation JSONL and the manifest.

    `validation_stories` fixes the held-out stories instead of drawing them."""
    if not examples:
        raise FinetuneDataError("no story has approved cases linked, so there is nothing to learn from; "
                                "link approved Test issues to stories (or check CASEWRIGHT_TEST_ISSUE_TYPE)")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FinetuneDataError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    kept, removed = dedupe(examples)
    if validation_stories is not None:
        held = set(validation_stories)
        train = [ex for ex in kept if ex.story_key not in held]
        val = [ex for ex in kept if ex.story_key in held]
    else:
        train, val = split_by_story(kept, validation_fraction, seed)
    counter = TokenCounter(tokenizer)
    train_path, val_path = out / TRAIN_FILE, out / VALIDATION_FILE
    train_bytes = _write_jsonl(train_path, train)
    val_bytes = _write_jsonl(val_path, val)
    manifest = {
        "format": "casewright-finetune/1",
        **(meta or {}),
        "seed": seed,
        "validation_fraction": validation_fraction,
        "examples": len(kept),
        "duplicates_removed": len(removed),
        "skipped": list(skipped),
        "redactions": dict(sorted((redactions or Counter()).items())),
        "tokenizer": counter.name,
        "tokens_exact": counter.exact,
        "splits": {
            "train": {"file": TRAIN_FILE, "examples": len(train), "bytes": train_bytes,
                      "stories": [ex.story_key for ex in train],
                      "cases": sum(len(ex.case_ids) for ex in train), "tokens": token_stats(train, counter)},
            "validation": {"file": VALIDATION_FILE, "examples": len(val), "bytes": val_bytes,
                           "stories": [ex.story_key for ex in val],
                           "cases": sum(len(ex.case_ids) for ex in val), "tokens": token_stats(val, counter)},
        },
        "data_hash": data_hash(train_path, val_path),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportReport(out, train_path, val_path, manifest)

"""Benchmark: the base / RAG / fine-tuned / both table, measured with the local model server.

One command trains a LoRA of the packaged SmolLM2-135M-Instruct GGUF on the training split with
`finetune train` (agent/finetune/train.py; it writes the llama.cpp adapter), then runs the six rows
of `casewright eval` on the held-out split: rules, rules+rag, llm and llm+rag on the base served by
llama.cpp, ft and ft+rag on the same server with the adapter. Nothing is downloaded.

    python bench/eval_table.py --dataset laj                     # LAJ tickets 1-25 train, 26-30 evaluated
    python bench/eval_table.py --dataset sample                  # the sample project, held out by story
    python bench/eval_table.py --dataset laj --steps 200 --grad-accum 4 --max-length 6144 \\
        --max-tokens 4096 --threads 0                            # the GPU variant (training on CUDA)

The training examples are the production prompts (`finetune export`'s: system + generate prompts
with the house template, the answer as {"cases": [...]}), as the evaluation asks the model.
Writes OUT/report.md, results.json, chart.png and bench.json (wall times, machine, settings).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev"


def training_stories(args):  # noqa: ANN001, ANN201
    """(stories with their approved cases for the export, held-out story keys, the eval dataset)."""
    from agent.evaluation.datasets import load_dataset, load_laj
    from agent.finetune.workspace import stories_from_workspace
    from connectors.workspace import SAMPLE_PATH, load_workspace

    if args.dataset == "laj":
        everything = load_laj(LAJ)
        stories = [i.story.model_copy(update={"approved_cases": i.reference_cases}) for i in everything.items]
        held = [f"LAJ-{n}" for n in range(args.eval_from, 31)]
        return stories, held, load_laj(LAJ, list(range(args.eval_from, 31)))
    stories = stories_from_workspace(load_workspace(SAMPLE_PATH))
    return stories, None, lambda keys: load_dataset(SAMPLE_PATH, story_keys=keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=("laj", "sample"), default="laj")
    ap.add_argument("--out", default="out/bench-eval-table")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=4096, help="training tokens per example")
    ap.add_argument("--max-tokens", type=int, default=512, help="answer tokens for the model rows")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (0: its default)")
    ap.add_argument("--eval-from", type=int, default=26, help="LAJ: evaluate tickets N-30, train on the rest")
    ap.add_argument("--configs", default="rules,rules+rag,llm,llm+rag,ft,ft+rag")
    args = ap.parse_args()

    from agent.evaluation.evaluate import EvalOptions, evaluate, parse_configs
    from agent.evaluation.report import markdown_table, write_report
    from agent.finetune.examples import build_examples, template_text
    from agent.finetune.export import export_examples
    from agent.finetune.train import TrainConfig, train_from_export
    from agent.generation.template import load_template
    from connectors.local_model import packaged_model_path
    from connectors.settings import get_settings

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    base = packaged_model_path()
    started = time.monotonic()
    stories, held, dataset = training_stories(args)
    examples, skipped = build_examples(stories, template=template_text(load_template()), target="json")
    for s in skipped:
        print(f"not trained on {s['story']}: {s['reason']}", flush=True)
    export = export_examples(examples, out / "data", validation_stories=held, validation_fraction=0.2,
                             meta={"source": args.dataset, "target": "json", "with_context": False})
    held = held or list(export.manifest["splits"]["validation"]["stories"])
    if callable(dataset):
        dataset = dataset(held)
    cfg = TrainConfig(steps=args.steps, grad_accum=args.grad_accum, learning_rate=args.lr, lora_r=args.lora_r,
                      lora_alpha=2 * args.lora_r, max_length=args.max_length)
    t0 = time.monotonic()
    trained = train_from_export(str(base), export.out_dir, out / "ft", cfg, quiet=True)
    train_s = time.monotonic() - t0
    print(f"trained {trained.steps} steps on {trained.device} in {train_s:.0f} s "
          f"(validation loss {trained.eval_loss_before} -> {trained.eval_loss_after})", flush=True)
    opts = EvalOptions(configs=parse_configs(args.configs), local=True, ft_lora=str(trained.out_dir),
                       local_threads=args.threads or None, local_options={"max_tokens": args.max_tokens})
    t1 = time.monotonic()
    seconds: dict[str, float] = {}
    last = [time.monotonic()]

    def progress(cfg_name: str, key: str) -> None:
        now = time.monotonic()
        seconds[cfg_name] = seconds.get(cfg_name, 0.0) + now - last[0]
        last[0] = now
        print(f"  {cfg_name}: {key} ({now - t1:.0f} s)", flush=True)

    results = evaluate(dataset, opts, get_settings(), progress=progress)
    eval_s = time.monotonic() - t1
    paths = write_report(results, out)
    print(markdown_table(results))
    bench = {
        "dataset": args.dataset, "held_out": held, "train_examples": trained.train_examples,
        "not_trained_on": skipped, "reference_notes": results.get("notes", []),
        "model": base.name, "steps": trained.steps, "grad_accum": args.grad_accum, "lr": args.lr,
        "lora_r": args.lora_r, "max_length": args.max_length, "answer_max_tokens": args.max_tokens,
        "threads": args.threads, "device": trained.device,
        "eval_loss_before": trained.eval_loss_before, "eval_loss_after": trained.eval_loss_after,
        "train_s": round(train_s, 1), "eval_s": round(eval_s, 1), "total_s": round(time.monotonic() - started, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "load_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (out / "bench.json").write_text(json.dumps(bench, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(bench, indent=2))
    print("wrote " + ", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
    main()

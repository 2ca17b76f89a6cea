"""Benchmark: the LLM agent on an epic of 24 stories against the local OpenAI-compatible stub.

Every model call takes a fixed latency (default 0.5 s), as a hosted model would; the graph fans the
stories out (LangGraph Send) bounded by the concurrency limit (`max_concurrency`). The script prints
the wall time of each run, the number of model calls, and the ratio to 24 x latency (the time the
generate calls alone would take one after another). Target: with concurrency 8 the ratio is <= 0.15
(three waves of eight 0.5 s calls are 1.5 s, 0.125; the plan call runs beside the first wave).

    .venv/bin/python bench/agent.py                    # concurrency 8 and 1
    .venv/bin/python bench/agent.py --concurrency 8 4 2 1 --latency 0.5 --stories 24

The model is reached through the real langchain-openai client over HTTP (openai-compatible
provider), exactly as a vLLM or LM Studio server would be. The run includes the plan call, one
generate call per story, review, end-to-end flows and the report; the stub's answers cover every
criterion, so no revise round is needed.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.configuration import Configuration  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from connectors.emulators.openai_chat import OpenAIStub  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402

EPIC = "ER-1"


def build_workspace(n_stories: int, path: Path) -> None:
    """The sample project's epic ER-1 with its stories replaced by n clones of its well-written ones."""
    ws = json.loads(SAMPLE_PATH.read_text())
    by_key = {i["key"]: i for i in ws["issues"]}
    templates = [by_key[k] for k in ("ER-2", "ER-3", "ER-4", "ER-5")]
    children = {i["key"] for i in ws["issues"] if (i["fields"].get("parent") or {}).get("key") == EPIC}
    issues = [i for i in ws["issues"] if i["key"] not in children]
    for n in range(n_stories):
        clone = copy.deepcopy(templates[n % len(templates)])
        clone["key"] = f"ER-{1001 + n}"
        clone["id"] = str(901000 + n)
        clone["fields"]["summary"] = f"{clone['fields']['summary']} (variant {n + 1})"
        clone["fields"]["issuelinks"] = []
        issues.append(clone)
    ws["issues"] = issues
    path.write_text(json.dumps(ws))


def run_once(workspace: Path, base_url: str, concurrency: int, workdir: Path) -> tuple[float, dict]:
    cfg = Configuration(source=str(workspace), data_dir=str(workdir / f"data-{concurrency}"),
                        out_dir=str(workdir / f"out-{concurrency}"), formats=["json"],
                        model="openai-compatible:casewright-stub",
                        llm={"model_base_url": base_url, "llm_retries": 0, "llm_timeout_s": 60})
    t0 = time.perf_counter()
    result = generate_epic(EPIC, cfg, concurrency=concurrency)
    return time.perf_counter() - t0, result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--repeat", type=int, default=3, help="runs per concurrency > 1 (the median is shown)")
    args = parser.parse_args()

    serial = args.stories * args.latency
    with tempfile.TemporaryDirectory() as tmp, OpenAIStub(latency_s=0.0) as stub:
        workdir = Path(tmp)
        workspace = workdir / "workspace.json"
        build_workspace(args.stories, workspace)
        run_once(workspace, stub.base_url, 8, workdir / "warmup")  # imports, template, parsing caches
        stub.latency_s = args.latency
        print(f"epic {EPIC}: {args.stories} stories, {args.latency:.2f} s per model call; "
              f"reference {args.stories} x {args.latency:.2f} s = {serial:.2f} s")
        print(f"{'concurrency':>11} {'wall s':>8} {'ratio':>7} {'calls':>6} {'max in flight':>14} {'cases':>6} {'coverage':>9}")
        print("(wall: median of the runs; ratio: wall / reference; calls: model calls of one run)")
        for concurrency in args.concurrency:
            walls = []
            for rep in range(args.repeat if concurrency > 1 else 1):
                stub.reset()
                wall, summary = run_once(workspace, stub.base_url, concurrency, workdir / f"r{rep}")
                walls.append(wall)
            wall = statistics.median(walls)
            ratio = wall / serial
            spread = f"  (runs: {', '.join(f'{w:.2f}' for w in walls)})" if len(walls) > 1 else ""
            print(f"{concurrency:>11} {wall:>8.2f} {ratio:>7.3f} {len(stub.requests):>6} {stub.max_in_flight:>14} "
                  f"{summary.get('cases', 0):>6} {float(summary.get('coverage', 0)) * 100:>8.0f}%{spread}")
            if concurrency == 8:
                verdict = "meets" if ratio <= 0.15 else "misses"
                print(f"{'':>11} concurrency 8 {verdict} the target ratio <= 0.15")


if __name__ == "__main__":
    main()

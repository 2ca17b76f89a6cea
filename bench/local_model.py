"""Benchmark: the model path against the real local model server (llama.cpp through
llama-cpp-python's server, the packaged SmolLM2-135M-Instruct), where its time goes.

    .venv/bin/python bench/local_model.py                 # threads 1, one story, revise rounds 0 and 1
    .venv/bin/python bench/local_model.py --threads 1 2 --max-tokens 1024

For each thread count it prints the server's start time; two requests one after the other and
the same two at once (whether the server runs them in parallel); then one story (three criteria,
the shape of the sample's stories) through the graph: the wall time, the model calls and tokens
per node, and per request the server's own figures (prompt tokens evaluated and their time,
tokens generated and their time), read from llama.cpp's log. Give `uptime` with the figures: on a
shared 2-core machine they move with the load.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.configuration import Configuration  # noqa: E402
from agent.llm.provider import ModelOptions, build_chat_model  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from connectors.local_model import MODEL_ALIAS, STRUCTURED_OUTPUT, LocalModelServer  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402

CRITERIA = ["The Difficulty Reason picklist on the Case offers Job loss, Illness and Other.",
            "When the Agent selects Other, the Details field becomes required.",
            'Saving the Case without a reason shows the error "Select a difficulty reason".']
_PROMPT = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs")


def workspace(directory: Path) -> Path:
    doc = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    by_key = {i["key"]: i for i in doc["issues"]}
    story = copy.deepcopy(by_key["ER-6"])
    story["fields"].update(summary="Record the reason for payment difficulty on the case",
                           description="As a Contact Centre Agent I want to record why the customer is "
                                       "struggling to pay so that the Hardship team sees it on the case.",
                           customfield_10100="\n".join(CRITERIA))
    doc.update(issues=[by_key["ER-1"], story], remoteLinks=[], pages=[])
    path = directory / "workspace.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def server_requests(log: str) -> list[str]:
    """Per request: prompt tokens evaluated / ms, tokens generated / ms (llama.cpp's perf lines)."""
    prompts = _PROMPT.findall(log)
    evals = [m for m in _EVAL.findall(log)]
    return [f"prompt {int(pt)} tok in {float(pm) / 1000:.1f} s, generated {int(et)} tok in {float(em) / 1000:.1f} s"
            for (pm, pt), (em, et) in zip(prompts, evals)]


def options(server: LocalModelServer, max_tokens: int) -> dict:
    return {"model_base_url": server.base_url, "structured_output": STRUCTURED_OUTPUT, "temperature": 0.0,
            "model_context_tokens": server.n_ctx, "llm_retries": 0, "llm_timeout_s": 900.0,
            "max_tokens": max_tokens}


def parallel_check(server: LocalModelServer) -> None:
    model = build_chat_model(ModelOptions.of(f"openai-compatible:{MODEL_ALIAS}", options(server, 32)))
    asks = [f"List three fruits whose names start with {letter}." for letter in "BC"]
    t0 = time.perf_counter()
    for text in asks:
        model.invoke(text)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(model.invoke, asks))
    together = time.perf_counter() - t0
    print(f"  two requests of <= 32 tokens: one after the other {serial:.1f} s, both at once {together:.1f} s "
          f"(ratio {together / serial:.2f}; 1.0 = no parallel slots)")


def story_run(server: LocalModelServer, ws: Path, rounds: int, max_tokens: int) -> None:
    before = len(server_requests(server.log_text()))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Configuration(source=str(ws), data_dir=f"{tmp}/d", out_dir=f"{tmp}/o", formats=["json"],
                            model=f"openai-compatible:{MODEL_ALIAS}", story_keys=["ER-6"], max_revise_rounds=rounds,
                            llm=options(server, max_tokens))
        t0 = time.perf_counter()
        result = generate_epic("ER-1", cfg, concurrency=1)
        wall = time.perf_counter() - t0
    usage = result.state.get("llm_usage") or {}
    fallbacks = [f.code for f in result.state["findings"] if f.code.startswith("llm-")]
    print(f"  one story, 3 criteria, revise rounds {rounds}: {wall:.1f} s, "
          f"{len(result.state['cases'])} cases, fallbacks {fallbacks or 'none'}")
    for node, n in usage.items():
        print(f"    {node}: {n['calls']} calls, {n['input_tokens']} tokens in, {n['output_tokens']} out, "
              f"{n['repairs']} repairs")
    for line in server_requests(server.log_text())[before:]:
        print(f"    server: {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--rounds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--context", type=int, default=8192)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp))
        for threads in args.threads:
            t0 = time.perf_counter()
            server = LocalModelServer(threads=threads, n_ctx=args.context).start()
            print(f"threads {threads}: server started in {time.perf_counter() - t0:.1f} s")
            try:
                parallel_check(server)
                for rounds in args.rounds:
                    story_run(server, ws, rounds, args.max_tokens)
            finally:
                server.stop()


if __name__ == "__main__":
    main()

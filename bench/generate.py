"""Benchmark: the offline main job on a large epic.

Builds a workspace with one epic of N stories (copies of the sample project's stories and the
LAJ development tickets, under new keys), then times
  1. the deterministic generator alone, story by story (before and after the graph: the mean),
  2. the whole graph (load, plan, assess, retrieve, generate fan-out, journeys, review, report to JSON),
and prints stories per second for each, excluding start-up (imports, template load), the ratio of
the two in wall time (the target) and in CPU time (this process's, which a busy machine disturbs
less), and the peak RSS of the process.

    .venv/bin/python bench/generate.py [--stories 1000]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.configuration import Configuration  # noqa: E402
from agent.generation.rules import generate_for_story  # noqa: E402
from agent.generation.template import load_template  # noqa: E402
from agent.intake.epic import load_epic  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from connectors.workspace import SAMPLE_PATH, parse_workspace  # noqa: E402

LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev" / "tickets.csv"


def build_workspace(n: int) -> dict:
    sample = json.loads(SAMPLE_PATH.read_text())
    templates = [i for i in sample["issues"] if i["fields"]["issuetype"]["name"] == "Story"]
    if LAJ.exists():
        for row in csv.DictReader(LAJ.open(encoding="utf-8")):
            templates.append({"key": "T", "fields": {"summary": row["title"], "description": row["description"],
                                                     "issuetype": {"name": "Story"}, "labels": []}})
    epic = {"id": "1", "key": "BIG-1", "fields": {"summary": "Large epic", "issuetype": {"name": "Epic"},
                                                  "project": {"key": "BIG"}, "labels": []}}
    issues = [epic]
    for k in range(n):
        story = copy.deepcopy(templates[k % len(templates)])
        story["key"], story["id"] = f"BIG-{k + 2}", str(k + 2)
        story["fields"]["parent"] = {"key": "BIG-1"}
        story["fields"]["issuelinks"] = []
        story["fields"]["project"] = {"key": "BIG"}
        issues.append(story)
    return {"fields": sample["fields"], "issues": issues, "pages": sample["pages"], "projects": [],
            "issueLinkTypes": sample["issueLinkTypes"]}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(work) -> tuple[float, float, object]:  # noqa: ANN001
    """(wall s, CPU s of this process, result) of `work()`."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - w0, time.process_time() - c0, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=1000)
    args = ap.parse_args()
    doc = build_workspace(args.stories)
    template = load_template()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(doc))
        ws = parse_workspace(doc)
        bundle = load_epic(ws, "BIG-1")

        def generator_alone() -> int:
            return sum(len(generate_for_story(s, template).cases) for s in bundle.stories)

        gen_wall, gen_cpu, cases = timed(generator_alone)
        cfg = Configuration(source=str(path), data_dir=str(Path(tmp) / "data"), out_dir=str(Path(tmp) / "out"),
                            formats=["json"])
        graph_s, graph_cpu, result = timed(lambda: generate_epic("BIG-1", cfg, run_id="bench"))
        again_wall, again_cpu, _ = timed(generator_alone)
        gen_s, gen_cpu = (gen_wall + again_wall) / 2, (gen_cpu + again_cpu) / 2

    n = len(bundle.stories)
    print(f"stories: {n}, criteria: {sum(len(s.criteria) for s in bundle.stories)}, cases: {cases}")
    print(f"generator only:  {gen_s:.2f} s  -> {n / gen_s:,.0f} stories/s  (runs {gen_wall:.2f}, {again_wall:.2f} s; "
          f"CPU {gen_cpu:.2f} s)")
    print(f"whole graph:     {graph_s:.2f} s  -> {n / graph_s:,.0f} stories/s "
          f"(parse, plan, fan-out, review, JSON report, SQLite checkpoints; {result.summary.get('cases')} cases; "
          f"CPU {graph_cpu:.2f} s)")
    print(f"whole graph / generator alone: {graph_s / gen_s:.2f}x (target <= 2); in CPU time {graph_cpu / gen_cpu:.2f}x")
    print(f"peak RSS: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()

"""Benchmark: the review pages on a large run waiting for approval.

Builds one epic of N stories from the bundled sample's stories (under new keys), generates it
with `--review` (rules generator, no write-back), then times, in process (FastAPI TestClient on
the review app, pages under /ui/):
  1. reading the run's checkpoint alone (`run_snapshot`): the baseline every page and edit pays,
  2. rendering the run page (every story, criterion and case, findings, coverage),
  3. one reviewer edit through the form (`edit_run`: checks, review again, checkpoint, preview),
and prints median and p95 of each.

    .venv/bin/python bench/review.py [--stories 60] [--repeat 10]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from agent.configuration import Configuration  # noqa: E402
from agent.runner import generate_epic, run_snapshot  # noqa: E402
from connectors.settings import Settings  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402
from workers.ui.app import create_review_app  # noqa: E402


def build_workspace(n: int) -> dict:
    sample = json.loads(SAMPLE_PATH.read_text())
    stories = [i for i in sample["issues"] if i["fields"]["issuetype"]["name"] == "Story"
               and (i["fields"].get("parent") or {}).get("key") == "ER-1"]
    epic = copy.deepcopy(next(i for i in sample["issues"] if i["key"] == "ER-1"))
    issues = [i for i in sample["issues"] if i["fields"]["issuetype"]["name"] not in ("Story", "Epic")]
    issues.append(epic)
    for k in range(n):
        story = copy.deepcopy(stories[k % len(stories)])
        story["key"], story["id"] = f"ER-{100 + k}", str(90000 + k)
        issues.append(story)
    sample["issues"] = issues
    sample["remoteLinks"] = {}
    return sample


def timed(fn, repeat: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workspace.json"
        path.write_text(json.dumps(build_workspace(args.stories)))
        cfg = Configuration(source=str(path), formats=["json"], data_dir=f"{tmp}/data", out_dir=f"{tmp}/out",
                            review=True)
        t0 = time.perf_counter()
        run_id = generate_epic("ER-1", cfg).run_id
        generated = time.perf_counter() - t0
        _, values, _ = run_snapshot(cfg.data_dir, run_id)
        cases = values["cases"]
        client = TestClient(create_review_app(Settings(data_dir=f"{tmp}/data"), token="bench", user="bench"))
        client.get("/ui/login?token=bench")
        url = f"/ui/runs/{run_id}"
        html = client.get(url).text
        baseline = timed(lambda: run_snapshot(cfg.data_dir, run_id), args.repeat)
        page = timed(lambda: client.get(url).raise_for_status(), args.repeat)
        n = [0]

        def edit() -> None:
            n[0] += 1
            current = client.get(url).text
            fields = dict(re.findall(r'name="(csrf|version)" value="([^"]+)"', current))
            r = client.post(f"/ui/runs/{run_id}/edit", follow_redirects=False, data={
                **fields, "case_id": cases[0].id, "title": f"Verify that edit {n[0]} is saved"})
            assert r.status_code == 303, r.text[:300]

        edit_page = timed(edit, args.repeat)
    print(f"run: {args.stories} stories, {len(cases)} cases, generated with --review in {generated:.1f} s; "
          f"run page {len(html) / 1024:.0f} KiB")
    print(f"read the checkpoint (baseline): median {baseline[0]:.0f} ms, p95 {baseline[1]:.0f} ms")
    print(f"render the run page:            median {page[0]:.0f} ms, p95 {page[1]:.0f} ms")
    print(f"one edit (page + form + save):  median {edit_page[0]:.0f} ms, p95 {edit_page[1]:.0f} ms")


if __name__ == "__main__":
    main()

"""Benchmark: how big the checkpoint database gets for a story with a huge description.

Copies the bundled sample, gives one story of epic ER-8 a description of N MB (its own text
repeated), runs the whole graph offline (rules, JSON output) with checkpoints in a fresh data
directory, once straight through and once crashed in `review` and resumed, and prints the
description size, the checkpoint database size and their ratio for each.

    .venv/bin/python bench/checkpoints.py [--mb 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.configuration import Configuration  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402

EPIC, STORY = "ER-8", "ER-9"


def huge_workspace(path: Path, megabytes: float) -> int:
    doc = json.loads(SAMPLE_PATH.read_text())
    story = next(i for i in doc["issues"] if i["key"] == STORY)
    filler = "\n\nBackground. " + " ".join(["The customer's account history is listed in full."] * 20)
    size = int(megabytes * 1_000_000)
    own = story["fields"].get("description")
    own = own if isinstance(own, str) else ""  # an ADF description is replaced by plain text
    story["fields"]["description"] = own + (filler * (size // len(filler) + 1))[:size]
    path.write_text(json.dumps(doc))
    return len(story["fields"]["description"])


def run(tmp: Path, source: Path, crash: bool) -> tuple[int, float]:
    data = tmp / ("crash" if crash else "straight")
    cfg = Configuration(source=str(source), formats=["json"], data_dir=str(data), out_dir=str(tmp / "out"),
                        fail_at="review" if crash else None)
    t0 = time.perf_counter()
    if crash:
        try:
            generate_epic(EPIC, cfg, run_id="bench-crash")
        except Exception:  # noqa: BLE001 (the crash is the point)
            pass
        generate_epic(EPIC, Configuration(data_dir=str(data)), run_id="bench-crash", resume=True)
    else:
        generate_epic(EPIC, cfg)
    return (data / "checkpoints.sqlite").stat().st_size, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=20.0, help="description size in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "workspace.json"
        chars = huge_workspace(source, args.mb)
        print(f"description of {STORY}: {chars / 1e6:.1f} M characters")
        for crash in (False, True):
            size, seconds = run(tmp, source, crash)
            label = "crashed in review, resumed" if crash else "straight through"
            print(f"{label:28s} checkpoints.sqlite {size / 1e6:8.1f} MB  ({size / chars:5.1f}x the description)"
                  f"  {seconds:6.1f} s")


if __name__ == "__main__":
    main()

"""Benchmark: how long a `casewright` call takes before it does its work.

Runs each light command as a fresh process (what a script polling `casewright status` pays every
time) and prints the median and the spread of wall time over N runs:

    .venv/bin/python bench/startup.py [--runs 15]

  --help                 argument parsing only
  runs                   lists the runs of an empty data directory
  status <unknown id>    one Redis round trip (the Redis at REDIS_URL)
  enqueue ER-1           queues a job under a throwaway key prefix (removed afterwards)
  approve <unknown run>  fails on the run id before loading the graph stack

Baselines measured in the same run: the bare interpreter, and the eager import of the graph
stack (`agent.runner`) that every call used to pay before the CLI imported it lazily.
Target (issue 17): <= 0.5 s median for each light command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from casewright.cli import main; main()"]


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    prefix = f"bench-startup-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CASEWRIGHT_DATA_DIR": data, "CASEWRIGHT_REDIS_PREFIX": prefix}
        rows = [
            ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
            ("import agent.runner (old eager cost)", [sys.executable, "-c", "import casewright.cli, agent.runner"]),
            ("casewright --help", CLI + ["--help"]),
            ("casewright runs", CLI + ["runs"]),
            ("casewright status <unknown>", CLI + ["status", "no-such-job"]),
            ("casewright enqueue ER-1", CLI + ["enqueue", "ER-1", "--source", str(ROOT / "connectors" / "sample_project" / "workspace.json")]),
            ("casewright approve <unknown>", CLI + ["approve", "no-such-run"]),
        ]
        print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {args.runs} runs each; "
              f"Redis {env.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}")
        print(f"{'command':40} {'median s':>9} {'min s':>7} {'max s':>7}")
        for name, cmd in rows:
            t = timed(cmd, env, args.runs)
            print(f"{name:40} {statistics.median(t):9.3f} {min(t):7.3f} {max(t):7.3f}")
    _clean(prefix, env)


def _clean(prefix: str, env: dict[str, str]) -> None:
    import redis
    client = redis.Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


if __name__ == "__main__":
    main()

"""Benchmark: how long a `casewright` call takes before it does its work.

Runs each light command as a fresh process (what a script polling `casewright status` pays every
time) and prints the median and the spread of wall time over N runs:

    .venv/bin/python bench/startup.py [--runs 15]

  --help                 argument parsing only
  runs                   lists the runs of an empty data directory
  status <unknown id>    one Redis round trip (the Redis at REDIS_URL)
  enqueue ER-1           queues a job under a throwaway key prefix (removed afterwards)
  approve <unknown run>  fails on the run id before loading the graph stack

Baselines measured in the same run: the bare interpreter, the eager import of the graph
stack (`agent.runner`) that every call used to pay before the CLI imported it lazily, and
`status` with the Celery app imported (what it loaded before workers/celery_wire.py).
Besides wall time it prints the CPU seconds (user + system) each process used, which moves less
than wall time when other work shares the machine.
Target (issue 17): <= 0.5 s median for each light command.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from casewright.cli import main; main()"]
# what `status` and `enqueue` loaded before workers/celery_wire.py: the Celery app
OLD_STATUS = [sys.executable, "-c", "from casewright.cli import main; import workers.celery_app; main()"]


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (user + system of the child) of each run."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


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
            ("status + the Celery app (old path)", OLD_STATUS + ["status", "no-such-job"]),
            ("casewright enqueue ER-1", CLI + ["enqueue", "ER-1", "--source", str(ROOT / "connectors" / "sample_project" / "workspace.json")]),
            ("casewright approve <unknown>", CLI + ["approve", "no-such-run"]),
        ]
        print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {args.runs} runs each; "
              f"Redis {env.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}")
        print(f"{'command':40} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU med s':>10}")
        for name, cmd in rows:
            t, cpu = timed(cmd, env, args.runs)
            print(f"{name:40} {statistics.median(t):9.3f} {min(t):7.3f} {max(t):7.3f} {statistics.median(cpu):10.3f}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
    _clean(prefix, env)


def _clean(prefix: str, env: dict[str, str]) -> None:
    import redis
    client = redis.Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


if __name__ == "__main__":
    main()

"""Start-up: importing the CLI (what every `casewright` call pays before parsing its arguments)
loads none of the heavy stacks. They load inside the commands that use them. An import check,
not a timing: bench/startup.py measures the seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from connectors.settings import Settings
from support import ROOT
from support.service import cleanup, redis_client, unique_prefix
from workers.celery_wire import queue_key

HEAVY = ("torch", "transformers", "sentence_transformers", "langgraph", "langchain_core", "langsmith",
         "qdrant_client", "qdrant_edge", "celery", "kombu", "billiard", "fastapi", "uvicorn", "jira",
         "atlassian", "pydantic_settings", "redis")
CELERY = {"celery", "kombu", "billiard"}

PROBE = """
import json, sys
import casewright.cli
{extra}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""


def _run(extra: str = "", env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The top-level modules loaded after `extra` ran, and what it printed before."""
    r = subprocess.run([sys.executable, "-c", PROBE.format(extra=extra)], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, r.stderr
    *printed, modules = r.stdout.strip().splitlines()
    return set(json.loads(modules)), "\n".join(printed)


def _loaded(extra: str = "") -> set[str]:
    return _run(extra)[0]


def test_importing_the_cli_loads_no_heavy_library():
    loaded = _loaded()
    assert "typer" in loaded  # the probe does see what the CLI imports
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_loads_no_heavy_library():
    extra = ("import sys\nsys.argv = ['casewright', '--help']\n"
             "try:\n    casewright.cli.app()\nexcept SystemExit:\n    pass")
    loaded = _loaded(extra)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_probe_would_see_a_heavy_import():
    # the check can fail: a CLI that imported the graph stack would be caught
    assert "langgraph" in _loaded("import agent.runner")


def _command(*argv: str) -> str:
    return (f"import sys\nsys.argv = ['casewright', *{list(argv)!r}]\n"
            "try:\n    casewright.cli.main()\nexcept SystemExit:\n    pass")


def test_status_and_enqueue_talk_to_redis_without_celery(tmp_path):
    # `status` and `enqueue` are one Redis round trip each (workers/celery_wire.py), no Celery app
    prefix = unique_prefix("startup")
    env = {**os.environ, "CASEWRIGHT_REDIS_PREFIX": prefix, "CASEWRIGHT_DATA_DIR": str(tmp_path)}
    workspace = str(ROOT / "connectors" / "sample_project" / "workspace.json")
    try:
        loaded, printed = _run(_command("enqueue", "ER-1", "--source", workspace), env)
        assert "redis" in loaded and not loaded & CELERY, sorted(loaded & CELERY)
        client = redis_client(0)
        jobs = [j.decode() for j in client.lrange(f"{prefix}:epic:ER-1:jobs", 0, -1)]
        assert jobs == [printed.strip()] and client.llen(queue_key(Settings(redis_prefix=prefix))) == 1  # it did queue the job
        loaded, printed = _run(_command("status", jobs[0], "--json"), env)
        assert "redis" in loaded and not loaded & CELERY, sorted(loaded & CELERY)
        assert json.loads(printed)["state"] == "QUEUED"
    finally:
        cleanup(0, prefix)

"""Start-up: importing the CLI (what every `casewright` call pays before parsing its arguments)
loads none of the heavy stacks. They load inside the commands that use them. An import check,
not a timing: bench/startup.py measures the seconds."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "langgraph", "langchain_core", "langsmith",
         "qdrant_client", "qdrant_edge", "celery", "fastapi", "uvicorn", "jira", "atlassian",
         "pydantic_settings")

PROBE = """
import json, sys
import casewright.cli
{extra}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""


def _loaded(extra: str = "") -> set[str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(extra=extra)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.strip().splitlines()[-1]))


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

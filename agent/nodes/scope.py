"""scope: where the plan and the generate branches meet.

The plan runs beside the generate branches, not before them (agent/graph.py), so that a model's
plan call does not add a round trip to every run: assess, map_tests, retrieve and the branches
cover every story loaded (the rules' scope), and this node drops what the plan left out: those
stories' cases and findings, except the plan's `out-of-scope` finding and what loading found
(`unreadable-test`), which the report has always shown for them. With the rules every story is
in scope and nothing is dropped. A story the model's plan leaves out has still had its generate
call; `usage.scope.dropped` counts them."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.state import State, node_usage

KEPT_FOR_DROPPED = ("out-of-scope", "unreadable-test")
"""Findings about a story out of scope that stay in the run (the plan's and the loader's)."""


def scope(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    keep = set(state.get("scope") or [])
    dropped = sorted({s.key for s in state.get("stories") or []} - keep)
    if not dropped:
        return {}
    gone = set(dropped)
    kept = [f for f in state.get("findings") or [] if f.story_key in gone and f.code in KEPT_FOR_DROPPED]
    return {"cases": {"replace_stories": dropped, "cases": []},
            "findings": {"replace_codes": [], "replace_stories": dropped, "findings": kept},
            "links": {k: v for k, v in (state.get("links") or {}).items() if k in keep},
            "stale_tests": [t for t in state.get("stale_tests") or [] if t.story_key in keep],
            "usage": node_usage("scope", t0, dropped=len(dropped))}

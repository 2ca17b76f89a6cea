"""report: write the outputs in the requested formats (agent/renderers) and sum the run up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.renderers.outputs import with_limit_findings, write_outputs
from agent.state import State, case_set


def report(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config
    cfg.fail_if_asked("report")
    cs = case_set(state, cfg, ctx.template.name)
    stats = cs.stats
    cs = with_limit_findings(cs)  # fields the importers would refuse as too long (agent/renderers/limits.py)
    cs.stats = {**stats, "findings": len(cs.findings)}
    paths = write_outputs(cs, cfg.formats, Path(cfg.out_dir), limits_checked=True) if cfg.formats else []
    summary = {**cs.stats, "epic": state["epic_key"], "run_id": state.get("run_id", "")}
    if state.get("write_results"):
        summary["write_back"] = state["write_results"]
    return {"report_paths": [str(p) for p in paths], "summary": summary}

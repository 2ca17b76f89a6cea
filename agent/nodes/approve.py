"""approve: with `--review`, a person approves the cases before anything is written back.

The node writes the preview report (the run's formats, under its out dir), then stops the graph
with LangGraph's `interrupt()`. The run's checkpoint holds everything, so another process can
resume it later with the decision (`casewright approve RUN`, or `--reject --reason "..."`;
agent/runner.py `generate_epic(..., resume_value=...)`).

- approved: the graph goes on to write back and report.
- rejected: with a model, one more revise round for every story in scope, with the reason as
  the reviewer's note, then review and approval again; with the rules generator nothing can be
  revised, so the run ends as rejected and nothing is written back.
Without `--review` the node passes straight through.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.context import RunContext
from agent.renderers.outputs import write_outputs
from agent.state import State, case_set
from connectors.errors import CasewrightError


def preview(state: State, ctx: RunContext) -> dict[str, Any]:
    """What the person sees before deciding: the figures and the preview files."""
    cfg = ctx.config
    cs = case_set(state, cfg, ctx.template.name)
    paths = write_outputs(cs, cfg.formats, Path(cfg.out_dir)) if cfg.formats else []
    return {
        "epic_key": state["epic_key"],
        "run_id": state.get("run_id", ""),
        "summary": dict(cs.stats),
        "write_back": cfg.write_back,
        "revise_round": int(state.get("revise_round") or 0),
        "previous_decision": (state.get("approval") or {}).get("status"),
        "report_paths": [str(p) for p in paths],
    }


def normalise_decision(value: Any) -> dict[str, Any]:
    """The resume value: {"approved": bool, "reason": str, "by": str} (a bare bool or "approve" too)."""
    if isinstance(value, bool):
        value = {"approved": value}
    elif isinstance(value, str):
        value = {"approved": value.strip().lower() in {"approve", "approved", "yes", "y"}}
    if not isinstance(value, dict) or "approved" not in value:
        raise CasewrightError("an approval decision must say approved true or false")
    reason = str(value.get("reason") or "").strip()
    if not value["approved"] and not reason:
        raise CasewrightError("a rejection needs a reason: --reject --reason \"what to change\"")
    return {"approved": bool(value["approved"]), "reason": reason, "by": str(value.get("by") or "")}


def approve(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    if not runtime.context.config.review:
        return {"approval": {"status": "not-required"}}
    decision = normalise_decision(interrupt(preview(state, runtime.context)))
    record = {"status": "approved" if decision["approved"] else "rejected", "reason": decision["reason"],
              "by": decision["by"], "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "rejections": int((state.get("approval") or {}).get("rejections", 0)) + (0 if decision["approved"] else 1)}
    return {"approval": record}


def after_approval(state: State, runtime: Runtime[RunContext]) -> str:
    """'approved' (go on to write back), 'revise' (rejected, a model can revise) or 'rejected' (stop)."""
    if (state.get("approval") or {}).get("status") == "rejected":
        return "revise" if runtime.context.generator is not None else "rejected"
    return "approved"

"""write_back: write the cases to Jira per Configuration.write_back (issues, subtasks or a
comment per story) and dry_run, idempotently (agent/writeback/jira.py)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.state import State, case_set
from agent.writeback.jira import WriteBack


def write_back_for(ctx: RunContext, epic_key: str, run_id: str) -> WriteBack:
    """The write-back of a run, as this node carries it out (the review pages plan with it too)."""
    cfg = ctx.config
    access = ctx.jira()
    return WriteBack(access.writer(), mode=cfg.write_back, test_issue_type=cfg.test_issue_type,
                     link_type=access.test_link_type, run_id=run_id,
                     retire_label=access.retire_label, retire_status=access.retire_status)


def write_back(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config
    if cfg.write_back == "none":
        return {}
    cfg.fail_if_asked("write_back")
    wb = write_back_for(ctx, state["epic_key"], state.get("run_id", ""))
    result = wb.run(case_set(state, cfg, ctx.template.name), dry_run=cfg.dry_run)
    return {"write_results": result.as_dict()}

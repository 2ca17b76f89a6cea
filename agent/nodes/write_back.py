"""write_back: write the cases per Configuration.write_back and dry_run, idempotently: to Jira as
issues, sub-tasks or a comment per story (agent/writeback/jira.py), or to Xray, Zephyr Scale or
TestRail through their APIs (agent/writeback/tools.py)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.configuration import TOOL_WRITE_BACK_MODES
from agent.context import RunContext
from agent.state import State, case_set
from agent.writeback.jira import WriteBack
from agent.writeback.tools import ToolWriteBack


def write_back_for(ctx: RunContext, epic_key: str, run_id: str) -> WriteBack | ToolWriteBack:
    """The write-back of a run, as this node carries it out (the review pages plan with it too)."""
    cfg = ctx.config
    access = ctx.jira()
    if cfg.write_back in TOOL_WRITE_BACK_MODES:
        return ToolWriteBack.for_mode(cfg.write_back, ctx.services.targets, access.writer(),
                                      fields=ctx.template.tool_fields(cfg.write_back), run_id=run_id)
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

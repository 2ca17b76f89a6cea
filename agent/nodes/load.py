"""load: read the epic, its stories, their criteria and the pages they link to from the source."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace
from agent.state import State, node_usage
from connectors.errors import CasewrightError


def load(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    t0 = time.perf_counter()
    cfg = runtime.context.config
    cfg.fail_if_asked("load")
    ws = open_workspace(cfg.source, state["epic_key"], runtime.context.services.jira)
    bundle = load_epic(ws, state["epic_key"], ac_field_name=cfg.ac_field_name,
                       test_issue_type=cfg.test_issue_type, story_keys=cfg.story_keys)
    if not bundle.stories:
        raise CasewrightError(f"epic {state['epic_key']} has no stories to test in {cfg.source}")
    return {"epic": bundle.epic, "stories": bundle.stories, "pages": bundle.pages,
            "findings": bundle.findings, "usage": node_usage("load", t0)}

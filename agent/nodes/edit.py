"""edit: the node a reviewer's edit is written as.

It never runs in a normal pass: nothing leads to it. agent/runner.py (`edit_run`, `drop_case`)
writes a reviewer's change to the cases of a run waiting for approval into its checkpoint with
LangGraph's `update_state(..., as_node="edit")`; the node's one edge leads to `approve`, so the
run is again waiting at the approval, with the edited cases in its state. (Written as `approve`
itself, the update would count as the approval and the run would go on to write back.)
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import RunContext
from agent.state import State


def edit(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    return {}

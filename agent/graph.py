"""The casewright agent, wired. Read top to bottom:

    load -> assess -> map_tests -> retrieve -> plan + generate (one branch per story; all in parallel) -> scope
         -> journeys -> review -> [revise -> revise_story (per story) -> review]* -> approve -> write_back -> report
    edit -> approve: a reviewer's edit, written into the checkpoint of a run waiting for approval

Each node is one function in agent/nodes/<name>.py and decides for itself whether the rules or
the configured model do its work. What a run needs (its Configuration and Services) arrives as
the run context (agent/context.py); the state is agent/state.py. This module only wires.

The plan (a model call when a model is configured) runs in the same step as the generate
branches, so it costs no round trip of its own; `scope` then drops what the plan left out
(agent/nodes/scope.py).
"""

from __future__ import annotations

from functools import cache

from langgraph.graph import END, START, StateGraph

from agent.context import RunContext
from agent.nodes.approve import after_approval, approve
from agent.nodes.assess import assess
from agent.nodes.edit import edit
from agent.nodes.generate import fan_out, generate
from agent.nodes.journeys import journeys
from agent.nodes.load import load
from agent.nodes.map_tests import map_tests
from agent.nodes.plan import plan
from agent.nodes.report import report
from agent.nodes.retrieve import retrieve
from agent.nodes.review import after_review, review
from agent.nodes.revise import fan_out_revisions, revise, revise_story
from agent.nodes.scope import scope
from agent.nodes.write_back import write_back
from agent.state import InputState, State

NODES = {
    "load": (load, "Loading the epic, its stories and rules"),
    "assess": (assess, "Assessing the acceptance criteria"),
    "map_tests": (map_tests, "Mapping existing tests to the criteria"),
    "retrieve": (retrieve, "Retrieving rules and approved cases"),
    "plan": (plan, "Planning scope and flows"),
    "generate": (generate, "Generating cases per story"),
    "scope": (scope, "Keeping the stories in scope"),
    "journeys": (journeys, "Chaining end-to-end journeys"),
    "review": (review, "Reviewing coverage and format"),
    "revise": (revise, "Revising"),
    "revise_story": (revise_story, "Revising a story's cases"),
    "approve": (approve, "Waiting for approval"),
    "edit": (edit, "Applying a reviewer's edit"),
    "write_back": (write_back, "Writing back to Jira"),
    "report": (report, "Writing the report"),
}
"""Every node: its function and what the progress displays say while it runs."""


def build_graph() -> StateGraph:
    g = StateGraph(State, input_schema=InputState, context_schema=RunContext)
    for name, (node, _) in NODES.items():
        g.add_node(name, node)
    g.add_edge(START, "load")
    g.add_edge("load", "assess")
    g.add_edge("assess", "map_tests")
    g.add_edge("map_tests", "retrieve")
    g.add_conditional_edges("retrieve", fan_out, ["plan", "generate"])  # the plan first, beside the branches
    g.add_edge("plan", "scope")
    g.add_edge("generate", "scope")  # scope waits for the plan and every branch
    g.add_edge("scope", "journeys")
    g.add_edge("journeys", "review")
    g.add_conditional_edges("review", after_review, {"approve": "approve", "revise": "revise"})
    g.add_conditional_edges("revise", fan_out_revisions, ["revise_story", "review"])
    g.add_edge("revise_story", "review")
    g.add_conditional_edges("approve", after_approval,
                            {"approved": "write_back", "revise": "revise", "rejected": "report"})
    g.add_edge("edit", "approve")  # only entered by a reviewer's edit (agent/runner.py edit_run)
    g.add_edge("write_back", "report")
    g.add_edge("report", END)
    return g


@cache
def _compiled():
    """The graph compiled once per process (15 ms each time, before a run's first node); it holds no
    run state: each run gets a copy bound to its own checkpointer."""
    return build_graph().compile(name="casewright")


def compile_graph(checkpointer=None):
    return _compiled().copy(update={"checkpointer": checkpointer})


def next_nodes() -> dict[str, str]:
    """For each node, the node a run goes to next on its main line (the first route a branch
    declares); what the progress displays show once a node has finished."""
    g = build_graph()
    after: dict[str, str] = {}
    for start, end in g.edges:
        after[start] = "done" if end == END else end
    for start, branches in g.branches.items():
        for branch in branches.values():
            after.setdefault(start, next(iter((branch.ends or {}).values())))
    return {"start": after[START], **{name: after[name] for name in NODES}}

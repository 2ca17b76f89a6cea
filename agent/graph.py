"""The casewright agent, read top to bottom as a pipe:

    plan -> gather -> retrieve -> generate (one branch per story, in parallel) -> end_to_end -> review
         -> [revise -> revise_story (per story) -> review]* -> approval -> write_back -> report

With a model configured (agent/llm_nodes.py) plan and generate ask it; review adds groundedness
and sends fixable findings back through revise (agent/revision.py); approval stops for a person
with `--review` (agent/approval.py).

Nodes live in agent/nodes.py (and the modules later issues add); this file only wires them.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent import approval, llm_nodes, nodes, revision, writeback
from agent.retrieve import retrieve
from agent.configuration import Configuration
from agent.state import InputState, State


def build_graph() -> StateGraph:
    g = StateGraph(State, input_schema=InputState, context_schema=None)
    g.add_node("plan", llm_nodes.plan)
    g.add_node("gather", nodes.gather)
    g.add_node("retrieve", retrieve)
    g.add_node("generate", llm_nodes.generate)
    g.add_node("end_to_end", nodes.end_to_end)
    g.add_node("review", revision.review)
    g.add_node("revise", revision.revise)
    g.add_node("revise_story", revision.revise_story)
    g.add_node("approval", approval.approval)
    g.add_node("write_back", writeback.write_back)
    g.add_node("report", nodes.report)

    g.add_edge(START, "plan")
    g.add_edge("plan", "gather")
    g.add_edge("gather", "retrieve")
    g.add_conditional_edges("retrieve", nodes.fan_out, ["generate"])
    g.add_edge("generate", "end_to_end")
    g.add_edge("end_to_end", "review")
    # review -> revise rounds (LLM) -> approval (--review) -> report
    g.add_conditional_edges("review", revision.after_review, {"revise": "revise", "approval": "approval"})
    g.add_conditional_edges("revise", revision.fan_out_revisions, ["revise_story", "review"])
    g.add_edge("revise_story", "review")
    g.add_conditional_edges("approval", approval.after_approval,
                            {"approved": "write_back", "revise": "revise", "rejected": "report"})
    g.add_edge("write_back", "report")
    g.add_edge("report", END)
    return g


def compile_graph(checkpointer=None):
    return build_graph().compile(checkpointer=checkpointer, name="casewright")


__all__ = ["build_graph", "compile_graph", "Configuration"]

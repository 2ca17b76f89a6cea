"""The casewright agent, read top to bottom as a pipe:

    plan -> gather -> generate (one branch per story, in parallel) -> end_to_end -> review -> report

Nodes live in agent/nodes.py (and the modules later issues add); this file only wires them.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent import nodes
from agent.configuration import Configuration
from agent.state import InputState, State


def build_graph() -> StateGraph:
    g = StateGraph(State, input_schema=InputState, context_schema=None)
    g.add_node("plan", nodes.plan)
    g.add_node("gather", nodes.gather)
    g.add_node("generate", nodes.generate)
    g.add_node("end_to_end", nodes.end_to_end)
    g.add_node("review", nodes.review)
    g.add_node("report", nodes.report)

    g.add_edge(START, "plan")
    g.add_edge("plan", "gather")
    g.add_conditional_edges("gather", nodes.fan_out, ["generate"])
    g.add_edge("generate", "end_to_end")
    g.add_edge("end_to_end", "review")
    g.add_edge("review", "report")
    g.add_edge("report", END)
    return g


def compile_graph(checkpointer=None):
    return build_graph().compile(checkpointer=checkpointer, name="casewright")


__all__ = ["build_graph", "compile_graph", "Configuration"]

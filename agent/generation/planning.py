"""Planning with rules: which stories are in scope, and which chain into end-to-end flows.

A flow joins stories only where one story's outcome is another's precondition: the same record,
state or document flows between them (agent/generation/story_links.py). Stories that merely share
words ("customer", "account", "hardship") are not a journey."""

from __future__ import annotations

from agent.generation.story_links import find_links, journeys
from agent.models import Flow, Story


def in_scope(stories: list[Story]) -> list[str]:
    """Every story of the epic is in scope; ones with no criteria stay in to be reported."""
    return [s.key for s in stories]


def plan_flows(stories: list[Story], max_len: int = 4) -> list[Flow]:
    """The epic's journeys: each starts at a story whose outcome another needs, and takes in the
    stories fed by one already in it, each with the link stated (REST stories: the resource a POST
    creates, read, changed and removed by the others)."""
    usable = [s for s in stories if s.criteria and not all(c.vague for c in s.criteria)]
    return journeys(usable, find_links(usable), max_len)

"""House style for a story's cases: the persona and the shared preconditions of the story's own
approved cases carry over; for a story with none of its own, those of the team's most similar
approved cases (retrieved), and those cases are cited."""

from __future__ import annotations

import re
from typing import Any

from agent.generation.template import HouseTemplate
from agent.models import SourceRef, Story

SIMILAR_CASES = 3


def style_from_approved_cases(story: Story, template: HouseTemplate) -> tuple[str | None, list[str]]:
    """Persona and shared preconditions carried over from the team's approved cases for the story."""
    cases = story.approved_cases
    if not cases:
        return None, []
    personas = [c.persona for c in cases if c.persona]
    persona = max(set(personas), key=personas.count) if personas else None
    counts: dict[str, int] = {}
    for c in cases:
        for p in c.preconditions:
            counts[p] = counts.get(p, 0) + 1
    # only generic set-up carries over; anything with figures is another case's test data
    shared = [p for p, n in counts.items() if n * 2 >= len(cases) and not re.search(r"\d", p)]
    return persona, shared[:3]


def style_from_similar_cases(story: Story, retrieved: list[dict[str, Any]]
                             ) -> tuple[str | None, list[str], list[SourceRef]]:
    """Persona and preconditions of the team's approved cases most similar to `story` (for a story
    with none of its own): the persona most of them use, and the preconditions at least two of them
    share (the environment set-up, not one case's specific account). Cites the cases used."""
    similar = [c for c in retrieved or [] if c.get("kind") == "test_case" and (c.get("extra") or {}).get("persona")]
    similar = similar[:SIMILAR_CASES]
    if not similar:
        return None, [], []
    personas = [c["extra"]["persona"] for c in similar]
    persona = max(personas, key=lambda p: (personas.count(p), -personas.index(p)))
    counts: dict[str, int] = {}
    for c in similar:
        for pre in dict.fromkeys((c.get("extra") or {}).get("preconditions") or []):
            counts[pre] = counts.get(pre, 0) + 1
    shared = [p for p, n in counts.items() if n >= 2][:3]
    used = [c for c in similar if c["extra"]["persona"] == persona]
    sources = [SourceRef(kind="test_case", id=str(c.get("id", "")), title=str(c.get("title", "")),
                         url=c.get("url") or None) for c in used]
    return persona, shared, sources

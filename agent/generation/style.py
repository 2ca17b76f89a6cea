"""House style from similar cases: for a story with no approved cases of its own, the persona and
the shared preconditions of the team's most similar approved cases (retrieved) carry over, and
those cases are cited."""

from __future__ import annotations

from typing import Any

from agent.models import SourceRef, Story

SIMILAR_CASES = 3


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

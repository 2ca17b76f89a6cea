"""Planning with rules: which stories are in scope, and which chain into end-to-end flows."""

from __future__ import annotations

import re

from agent.models import Flow, Story

_STOP = {
    "the", "a", "an", "and", "or", "of", "to", "for", "in", "on", "with", "by", "as", "is", "be", "can", "i",
    "customer", "customers", "agent", "agents", "user", "users", "account", "accounts", "should", "must", "will",
    "api", "implement", "test", "request", "new", "from", "that", "this", "when", "their", "want", "so",
}
_METHOD_ORDER = {"POST": 0, "PUT": 1, "PATCH": 1, "GET": 2, "DELETE": 3}


def _terms(story: Story) -> set[str]:
    words = re.findall(r"[a-z][a-z-]{3,}", f"{story.summary} {story.description[:400]}".lower())
    return {w.rstrip("s") for w in words if w not in _STOP}


def in_scope(stories: list[Story]) -> list[str]:
    """Every story of the epic is in scope; ones with no criteria stay in to be reported."""
    return [s.key for s in stories]


def plan_flows(stories: list[Story], max_len: int = 4) -> list[Flow]:
    """Chain stories whose subjects overlap into business flows (REST stories: by resource)."""
    usable = [s for s in stories if s.criteria and not all(c.vague for c in s.criteria)]
    flows: list[Flow] = []
    api = [s for s in usable if s.endpoint and s.method]
    if api:
        by_resource: dict[str, list[Story]] = {}
        for s in api:
            resource = re.sub(r"/\{[^}]+\}", "", s.endpoint or "").rstrip("/")
            by_resource.setdefault(resource, []).append(s)
        for resource, group in by_resource.items():
            methods = {s.method for s in group}
            if len(group) >= 2 and len(methods) >= 2:
                ordered = sorted(group, key=lambda s: (_METHOD_ORDER.get(s.method or "", 9), s.key))[:max_len]
                flows.append(Flow(name=f"{resource} lifecycle", story_keys=[s.key for s in ordered],
                                  rationale="create, read, change and remove the same resource"))
        return flows
    remaining = list(usable)
    while len(remaining) >= 2:
        head = remaining.pop(0)
        chain, terms = [head], _terms(head)
        for other in list(remaining):
            shared = terms & _terms(other)
            if shared and len(chain) < max_len:
                chain.append(other)
                terms |= _terms(other)
                remaining.remove(other)
        if len(chain) >= 2:
            common = sorted(_terms(chain[0]) & _terms(chain[1]))
            first, last = (c.summary.split(":")[0].strip().rstrip(".") for c in (chain[0], chain[-1]))
            flows.append(Flow(name=f"'{first[0].lower() + first[1:]}' to '{last[0].lower() + last[1:]}'",
                              story_keys=[s.key for s in chain],
                              rationale=f"shared subject: {', '.join(common[:3])}" if common else ""))
    return flows

"""Token and call accounting for language-model work, per graph node, and its cost estimate.

Usage is a plain dict so it checkpoints and reports as JSON:
    {"generate": {"calls": 24, "input_tokens": 16000, "output_tokens": 9000, "repairs": 1,
                  "fallbacks": 0, "failures": 0, "context_dropped": 0}, "plan": {...}, "revise": {...}}
Parallel graph branches add theirs together through the `add_usage` reducer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNTERS = ("calls", "input_tokens", "output_tokens", "repairs", "fallbacks", "failures", "context_dropped")


def empty_usage() -> dict[str, int]:
    return {name: 0 for name in COUNTERS}


def add_usage(left: dict[str, dict[str, int]] | None, right: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
    """Reducer: per node, counters summed."""
    out = {node: dict(counts) for node, counts in (left or {}).items()}
    for node, counts in (right or {}).items():
        slot = out.setdefault(node, empty_usage())
        for name, value in counts.items():
            slot[name] = slot.get(name, 0) + int(value)
    return out


def estimate_cost(usage: dict[str, dict[str, int]], price_in: float | None, price_out: float | None) -> float | None:
    """Dollars for the tokens used, when both prices per million tokens are configured."""
    if price_in is None or price_out is None:
        return None
    tokens_in = sum(n.get("input_tokens", 0) for n in usage.values())
    tokens_out = sum(n.get("output_tokens", 0) for n in usage.values())
    return round(tokens_in / 1e6 * float(price_in) + tokens_out / 1e6 * float(price_out), 6)


def usage_stats(usage: dict[str, dict[str, int]] | None, price_in: float | None = None,
                price_out: float | None = None) -> dict[str, Any]:
    """Flat figures for a report's stats: totals, per-node calls/tokens, and the cost estimate."""
    usage = usage or {}
    if not usage:
        return {}
    stats: dict[str, Any] = {
        "llm_calls": sum(n.get("calls", 0) for n in usage.values()),
        "input_tokens": sum(n.get("input_tokens", 0) for n in usage.values()),
        "output_tokens": sum(n.get("output_tokens", 0) for n in usage.values()),
        "llm_repairs": sum(n.get("repairs", 0) for n in usage.values()),
        "llm_fallbacks": sum(n.get("fallbacks", 0) for n in usage.values()),
    }
    dropped = sum(n.get("context_dropped", 0) for n in usage.values())
    if dropped:
        stats["context_dropped"] = dropped  # rules/examples left out to fit the context window
    for node in sorted(usage):
        counts = usage[node]
        stats[f"{node}_calls"] = counts.get("calls", 0)
        stats[f"{node}_tokens"] = counts.get("input_tokens", 0) + counts.get("output_tokens", 0)
        node_cost = estimate_cost({node: counts}, price_in, price_out)
        if node_cost is not None:
            stats[f"{node}_cost_usd"] = node_cost
    cost = estimate_cost(usage, price_in, price_out)
    if cost is not None:
        stats["cost_usd"] = cost
    return stats


@dataclass
class Ledger:
    """Usage of one unit of work (a story, a plan), keyed by node."""

    usage: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, node: str, **amounts: int) -> None:
        self.usage = add_usage(self.usage, {node: amounts})

"""Helpers for the Xray, Zephyr Scale and TestRail connector tests: a sandbox serving every
emulated tool with the one demo credential, and cases to write."""

from __future__ import annotations

from connectors.managed_cases import CaseStep, ManagedCase
from support.sandbox import API_TOKEN, EMAIL, FAST_RETRY, PAT, start_sandbox  # noqa: F401 - re-exported

__all__ = ["API_TOKEN", "EMAIL", "FAST_RETRY", "PAT", "start_sandbox", "case", "writes_of", "no_sleep"]


def case(n: int = 1, story_key: str = "ER-2", *, steps: int = 3, story_id: str | None = None,
         **overrides) -> ManagedCase:
    """A realistic case: title, objective, preconditions, `steps` steps, an identity record."""
    base = ManagedCase(
        title=f"Agent offers a {n * 7}-day payment extension to a customer in arrears",
        story_key=story_key, story_id=story_id,
        objective="The agent can offer an extension within the policy limit and the customer is told the new date.",
        preconditions=["Customer account is in arrears by $120.50", "Agent is signed in to the service console"],
        steps=[CaseStep(f"Step {i}: open the account and choose 'Payment extension' option {i}",
                        data=f"extension days = {n * 7 + i}", expected=f"The console shows result {i}")
               for i in range(1, steps + 1)],
        priority="High", labels=["payments"],
        identity={"case_id": f"{story_key}-TC-{n:02d}", "story_key": story_key, "fingerprint": f"fp{n:022d}",
                  "content_hash_at_write": f"h{n:023d}"},
    )
    for k, v in overrides.items():
        setattr(base, k, v)
    return base


def writes_of(requests) -> list:  # noqa: ANN001
    return [r for r in requests if r.is_write]


class no_sleep:  # noqa: N801 - used like a function
    """A sleep that records how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

"""Gap mode: of the cases generated for a story, only what its existing tests do not already cover.

A case is kept when it verifies a criterion no current (non-stale) existing test covers. For a
covered criterion, a negative or boundary case (and a house standard check) is kept only when it
states concrete values (amounts, limits, status codes) that no single existing test of the story
states all of: a boundary already tested at 21 and 22 days is not generated again, one at 22 days
when the tests only try 21 is. A case that restates a covered criterion without such values is
dropped. `all` mode keeps every case (agent/configuration.py COVERAGE_MODES)."""

from __future__ import annotations

from agent.models import ExistingTest, UATCase
from agent.review.mapping import numbers, test_query

DERIVED_KINDS = ("negative", "boundary")


def case_claims(case: UATCase) -> str:
    parts = [case.title, *case.preconditions, *(f"{k}: {v}" for k, v in case.test_data.items())]
    parts += [f"{s.action} {s.data} {s.expected}" for s in case.steps]
    return "\n".join(p for p in parts if p)


def exercised(case: UATCase, tests: list[set[str]]) -> bool:
    """True when the case states concrete values and one existing test states them all, or when it
    states none (nothing to add beyond the test that covers its criterion)."""
    values = numbers(case_claims(case))
    return not values or any(values <= t for t in tests)


def gap_cases(cases: list[UATCase], covered: set[str], tests: list[ExistingTest]) -> list[UATCase]:
    """The cases gap mode keeps (`covered`: criterion ids existing tests verify)."""
    test_values = [numbers(test_query(t)) for t in tests]
    kept = []
    for case in cases:
        if any(cid not in covered for cid in case.criterion_ids):
            kept.append(case)
        elif (case.kind in DERIVED_KINDS or not case.criterion_ids) and not exercised(case, test_values):
            kept.append(case)
    return kept

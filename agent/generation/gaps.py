"""Gap mode: of the cases generated for a story, only what its existing tests do not already cover.

A case is kept when it verifies a criterion no current (non-stale) existing test covers. For a
covered criterion, a negative or boundary case (and a house standard check) is kept only when it
states concrete values (amounts, limits, status codes) that no single existing test of the story
states all of: a boundary already tested at 21 and 22 days is not generated again, one at 22 days
when the tests only try 21 is. A case that restates a covered criterion without such values is
dropped. `all` mode keeps every case (agent/configuration.py COVERAGE_MODES).

With a model, the prompt itself is cut to the gaps first (`gap_story`): the model is asked only
for the open criteria and the probes not yet exercised, and the filter above still applies to its
answer."""

from __future__ import annotations

import re

from agent.models import AcceptanceCriterion, ExistingTest, Story, UATCase
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


_LIST_MARK = re.compile(r"^\s*(?:[-*#•]+|\d+[.)])\s+")


def _words(text: str) -> str:
    """A line or criterion as comparable words (lower case, no list marker or punctuation), padded."""
    words = re.findall(r"\w+", _LIST_MARK.sub("", text or "").lower())
    return f" {' '.join(words)} " if words else ""


def without_criteria(description: str, left_out: list[AcceptanceCriterion],
                     kept: list[AcceptanceCriterion]) -> str:
    """The description less the lines that state only criteria left out (a line that is part of a
    kept criterion too stays), so a prompt carries no covered criterion's text."""
    gone = [_words(c.text) for c in left_out]
    stay = [_words(c.text) for c in kept]
    lines = []
    for line in (description or "").split("\n"):
        words = _words(line)
        if words and any(words in g for g in gone) and not any(words in k for k in stay):
            continue
        lines.append(line)
    return "\n".join(lines).strip()


def gap_story(story: Story, covered: set[str], rule_cases: list[UATCase]) -> tuple[Story | None, list[UATCase]]:
    """Gap mode with a model: the story as the prompt shows it, and the probes to ask for.

    The probes are the negative and boundary cases the deterministic generator writes for covered
    criteria that no existing test exercises (`gap_cases`, so the same values rule as the filter).
    The story keeps only the criteria no existing test covers and those of the probes; its
    description loses the lines of the others, and its own approved cases (which verify covered
    criteria) are not shown as examples. None when nothing is left to ask for."""
    probes = [c for c in gap_cases(rule_cases, covered, story.existing_tests)
              if c.criterion_ids and all(cid in covered for cid in c.criterion_ids)]
    probed = {cid for p in probes for cid in p.criterion_ids}
    kept = [c for c in story.criteria if c.id not in covered or c.id in probed]
    if not kept:
        return None, []
    left_out = [c for c in story.criteria if c not in kept]
    return story.model_copy(update={"criteria": kept, "approved_cases": [],
                                    "description": without_criteria(story.description, left_out, kept)}), probes

"""Review: is every criterion verified, is every case well formed per the house template, and are
there no duplicates? Returns findings and the coverage table; it never edits cases."""

from __future__ import annotations

from agent.generation.drafts import fingerprint_steps
from agent.generation.template import HouseTemplate
from agent.models import CriterionCoverage, CriterionLink, Finding, StaleTest, Story, UATCase

REVIEW_CODES = ("uncovered-criterion", "malformed-case", "duplicate-case", "untraceable-case", "duplicate-id")
"""The codes of the findings review_cases gives (each review replaces the previous review's)."""

_FIELD_CHECKS = {
    "title": lambda c: bool(c.title.strip()),
    "objective": lambda c: bool(c.objective.strip()),
    "persona": lambda c: bool(c.persona.strip()),
    "preconditions": lambda c: bool(c.preconditions),
    "test_data": lambda c: bool(c.test_data),
    "steps": lambda c: bool(c.steps) and all(s.action.strip() and s.expected.strip() for s in c.steps),
    "priority": lambda c: bool(c.priority),
    "kind": lambda c: bool(c.kind),
    "criterion_ids": lambda c: bool(c.criterion_ids) or "standard-check" in c.labels,
    "sources": lambda c: bool(c.sources),
    "labels": lambda c: bool(c.labels),
    "id": lambda c: bool(c.id),
    "confidence": lambda c: bool(c.confidence),
}


def existing_coverage(links: list[CriterionLink], stale: list[StaleTest]) -> dict[str, list[str]]:
    """Per criterion id, the keys of the existing tests that verify it and are not stale for it."""
    out: dict[str, list[str]] = {}
    stale_pairs = {(t.test_key, t.criterion_id) for t in stale}
    for link in links:
        if (link.test_key, link.criterion_id) not in stale_pairs and link.test_key not in out.get(link.criterion_id, []):
            out.setdefault(link.criterion_id, []).append(link.test_key)
    return out


def status_of(row: CriterionCoverage) -> str:
    """covered (by an existing test), gap-filled (only by new cases), stale (a test for its old text), uncovered."""
    if row.stale_tests:
        return "stale"
    if row.existing_tests:
        return "covered"
    return "gap-filled" if row.case_ids else "uncovered"


def coverage(stories: list[Story], cases: list[UATCase], links: list[CriterionLink] | None = None,
             stale: list[StaleTest] | None = None) -> list[CriterionCoverage]:
    """The traceability matrix: per criterion the new cases, the existing tests and the stale ones."""
    by_criterion: dict[str, list[str]] = {}
    for case in cases:
        for cid in dict.fromkeys(case.criterion_ids):
            by_criterion.setdefault(cid, []).append(case.id)
    existing = existing_coverage(links or [], stale or [])
    stale_by: dict[str, list[str]] = {}
    for t in stale or []:
        if t.criterion_id and t.test_key not in stale_by.get(t.criterion_id, []):
            stale_by.setdefault(t.criterion_id, []).append(t.test_key)
    table = [CriterionCoverage(criterion_id=c.id, story_key=story.key, case_ids=by_criterion.get(c.id, []),
                               existing_tests=existing.get(c.id, []), stale_tests=stale_by.get(c.id, []))
             for story in stories for c in story.criteria]
    for row in table:
        row.status = status_of(row)
    return table


def template_problems(case: UATCase, template: HouseTemplate) -> list[str]:
    """How a case falls short of the house template: required fields left empty, a priority that is
    not one of its levels (each a phrase that follows the case id)."""
    problems = []
    # test_data is optional for cases whose steps carry their data
    required = [f for f in template.fields if f != "test_data"]
    missing = [f for f in required if f in _FIELD_CHECKS and not _FIELD_CHECKS[f](case)]
    if missing:
        problems.append(f"leaves required template field(s) empty: {', '.join(missing)}")
    if template.priorities.levels and case.priority not in template.priorities.levels:
        problems.append(f"has priority '{case.priority}', not one of {', '.join(template.priorities.levels)}")
    return problems


def review_cases(stories: list[Story], cases: list[UATCase], template: HouseTemplate,
                 links: list[CriterionLink] | None = None,
                 stale: list[StaleTest] | None = None) -> tuple[list[Finding], list[CriterionCoverage]]:
    findings: list[Finding] = []
    table = coverage(stories, cases, links, stale)
    for row in table:
        if not row.covered:
            findings.append(Finding(severity="error", code="uncovered-criterion", story_key=row.story_key,
                                    criterion_id=row.criterion_id,
                                    message=f"{row.criterion_id} is not verified by any case"))
    known = {c.id for s in stories for c in s.criteria}
    story_keys = {s.key for s in stories}
    for case in cases:
        for problem in template_problems(case, template):
            findings.append(Finding(severity="warning", code="malformed-case", story_key=case.story_key,
                                    case_id=case.id, message=f"{case.id} {problem}"))
        unknown = [i for i in case.criterion_ids if i not in known]
        if unknown or case.story_key not in story_keys:
            findings.append(Finding(severity="error", code="untraceable-case", story_key=case.story_key,
                                    case_id=case.id,
                                    message=f"{case.id} refers to criteria or a story outside this epic: "
                                            f"{', '.join(unknown) or case.story_key}"))
    seen: dict[str, str] = {}
    ids_seen: set[str] = set()
    for case in cases:
        if case.id in ids_seen:
            findings.append(Finding(severity="error", code="duplicate-id", case_id=case.id, story_key=case.story_key,
                                    message=f"case id {case.id} is used twice"))
        ids_seen.add(case.id)
        fp = fingerprint_steps(case.steps)
        if fp in seen:
            findings.append(Finding(severity="warning", code="duplicate-case", case_id=case.id,
                                    story_key=case.story_key,
                                    message=f"{case.id} repeats the steps and expectations of {seen[fp]}"))
        else:
            seen[fp] = case.id
    return findings, table

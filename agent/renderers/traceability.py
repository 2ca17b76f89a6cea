"""The traceability matrix of the Markdown report: per criterion its status and what verifies it
(existing tests written by people, casewright's own existing tests, the new cases of this run, the
tests that are stale for it), then each stale test with the criterion's old and new text."""

from __future__ import annotations

from agent.models import CaseSet


def traceability_section(case_set: CaseSet, cell, table) -> list[str]:  # noqa: ANN001 - markdown's helpers
    """Markdown lines; none when no story has existing tests."""
    tests = {t.key: t for s in case_set.stories for t in s.existing_tests}
    if not tests:
        return []

    def keys(found: list[str], own: bool) -> str:
        return ", ".join(k for k in found if k in tests and tests[k].own == own) or "—"

    rows = [[e.criterion_id, e.status or "", keys(e.existing_tests, False), keys(e.existing_tests, True),
             ", ".join(e.case_ids) or "—", ", ".join(e.stale_tests) or "—"] for e in case_set.coverage_table()]
    counts = {s: sum(1 for e in case_set.coverage_table() if e.status == s)
              for s in ("covered", "gap-filled", "stale", "uncovered")}
    out = ["## Traceability", "",
           ", ".join(f"{n} {s}" for s, n in counts.items()) + " (criteria).", ""]
    out += table(["Criterion", "Status", "Existing tests (people)", "Existing tests (casewright)", "New cases", "Stale"],
                 rows)
    out.append("")
    if case_set.stale_tests:
        out += [f"### Stale tests ({len(case_set.stale_tests)})", ""]
        for t in case_set.stale_tests:
            what = f"{t.criterion_id} changed" if t.reason == "changed" else f"{t.criterion_id or 'its criterion'} is gone"
            out.append(f"- {cell(t.test_key)}: {cell(what)}; was: {cell(' '.join(t.old_text.split()) or '(unknown)')}"
                       + (f"; now: {cell(' '.join(t.new_text.split()))}" if t.new_text else ""))
        out.append("")
    return out

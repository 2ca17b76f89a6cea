"""Acceptance-criteria extraction validated on the LAJ-Gherkin development slice (Kill Bill API tickets).

Ids 1-30 are well-written tickets: every bullet under "Success Scenario" and "Error Scenarios"
must become a criterion (and nothing else may), every "Required: true" input must be a required
parameter, and the endpoint must be read. Ids 101-130 are vague rewrites: each must be flagged.

The expected values are computed here by plain line scanning, independently of agent.intake.criteria.
"""

from __future__ import annotations

import csv
import re

import pytest

from agent.intake.criteria import extract
from agent.intake.quality import assess_story
from support import LAJ

DATA = LAJ
TICKETS = DATA / "tickets.csv"


def _tickets() -> dict[int, dict[str, str]]:
    if not TICKETS.is_file():
        pytest.fail(
            f"LAJ development slice not found at {TICKETS}: the shared data folder must sit next to the "
            "repository (../shared/data/laj-gherkin-dev/tickets.csv)",
            pytrace=False,
        )
    with TICKETS.open(newline="", encoding="utf-8") as fh:
        return {int(r["id"]): r for r in csv.DictReader(fh)}


def _expected_bullets(description: str) -> list[tuple[str, str]]:
    """(section, text) of each '- ' line between 'Success Scenario:' and the end of the ticket."""
    out: list[tuple[str, str]] = []
    section = None
    for line in description.splitlines():
        stripped = line.strip()
        if stripped in ("Success Scenario:", "Error Scenarios:"):
            section = stripped[:-1]
            continue
        if section and line.startswith("- "):
            out.append((section, " ".join(line[2:].replace("`", "").split())))
    return out


def _expected_required(description: str) -> set[tuple[str, str]]:
    """(name, location) of every input marked 'Required: true', the body included."""
    required: set[tuple[str, str]] = set()
    block = ""
    for line in description.splitlines():
        if line.endswith(":") and not line.startswith(("-", " ")):
            block = line[:-1].split(" ")[0].lower()  # path / query / header / request
            continue
        if "Required: true" not in line:
            continue
        if block == "request" and line.strip() == "- Required: true":
            required.add(("body", "body"))
        else:
            name = line.split("`")[1]
            required.add((name, block))
    return required


def test_laj_slice_is_complete() -> None:
    tickets = _tickets()
    assert sorted(tickets) == list(range(1, 31)) + list(range(101, 131))
    # the per-ticket checks below compare against these scans, so make sure they find something
    assert sum(len(_expected_bullets(tickets[i]["description"])) for i in range(1, 31)) >= 90
    assert sum(len(_expected_required(tickets[i]["description"])) for i in range(1, 31)) >= 40


@pytest.mark.parametrize("tid", range(1, 31))
def test_well_written_ticket(tid: int) -> None:
    t = _tickets()[tid]
    key = f"LAJ-{tid}"
    criteria, parameters, endpoint = extract(key, t["description"], None, title=t["title"])

    expected = _expected_bullets(t["description"])
    assert len(expected) >= 3
    assert [(c.section, " ".join(c.text.split())) for c in criteria] == expected
    assert [c.id for c in criteria] == [f"{key}/AC-{n}" for n in range(1, len(expected) + 1)]
    assert all(c.style == "bullet" for c in criteria)

    required = {(p.name, p.location) for p in parameters if p.required}
    assert required == _expected_required(t["description"])
    # every documented input is known, the optional ones as not required
    documented = [ln.split("`")[1] for ln in t["description"].splitlines() if ln.startswith("- `")]
    assert sorted(p.name for p in parameters if p.location != "body") == sorted(documented)

    title_match = re.search(r"\b(GET|POST|PUT|DELETE)\s+(/\S+)", t["title"])
    assert title_match is not None
    assert endpoint == (t["method"], title_match.group(2))

    findings = assess_story(key, criteria, t["description"])
    assert not [f for f in findings if f.code in ("vague-criteria", "no-criteria")], [f.message for f in findings]


@pytest.mark.parametrize("tid", range(101, 131))
def test_vague_ticket_is_flagged(tid: int) -> None:
    t = _tickets()[tid]
    key = f"LAJ-{tid}"
    criteria, _, endpoint = extract(key, t["description"], None, title=t["title"])
    assert criteria, "the vague tickets do have an 'Acceptance Criteria:' list"
    assert len(criteria) == sum(1 for ln in t["description"].splitlines() if ln.startswith("- "))
    assert endpoint is not None and endpoint[0] == t["method"]
    findings = assess_story(key, criteria, t["description"])
    codes = [f.code for f in findings]
    assert "vague-criteria" in codes, codes
    story_level = next(f for f in findings if f.code == "vague-criteria")
    assert story_level.severity == "warning" and story_level.message.count("Add ") == 1
    assert any(c.vague for c in criteria)

"""Gherkin validity with the official parser."""

from __future__ import annotations

import pytest

from agent.evaluation.datasets import load_laj
from agent.evaluation.gherkin import gherkin_valid, read_reference_feature, scenario_to_case
from connectors.errors import CasewrightError
from support import LAJ


def test_gherkin_validity():
    assert gherkin_valid("Feature: f\n  Scenario: s\n    Given a\n    Then b\n")
    assert not gherkin_valid("Feature: f\n  Scenario: s\n    Given a\n  not a step\n")
    assert not gherkin_valid("Feature: f\n")


def test_a_reference_line_that_is_not_gherkin_is_kept_as_a_step_and_reported():
    text = ("Feature: f\n  Scenario: timeout\n    Given a slow search\n    When I send a GET request to /x\n"
            "    Then the response status code should be 504\n"
            "    Or the response status code should be 200 within the threshold\n"
            "  Scenario: empty key\n    When I send a GET request to /x/\n    Then the status code should be 400\n")
    assert not gherkin_valid(text)      # generated features stay judged strictly
    ref = read_reference_feature(text)
    assert [s["name"] for s in ref.scenarios] == ["timeout", "empty key"]
    assert ref.repaired == [(6, "step", "Or the response status code should be 200 within the threshold")]
    case = scenario_to_case(ref.scenarios[0], "S-1", "S-1-REF-01")
    assert "200 within the threshold" in case.steps[-1].expected      # read under its Then, not lost
    assert read_reference_feature("Feature: f\n  Scenario: s\n    Given a\n").repaired == []


def test_every_laj_ticket_has_its_reference_scenarios(tmp_path):
    """LAJ-19's script has an 'Or ...' line the parser refuses; it used to give the ticket no
    reference at all, silently (751 scenarios counted instead of 771, one training example fewer)."""
    data = load_laj(LAJ)
    empty = [i.story.key for i in data.items if not i.references or not i.reference_cases]
    assert empty == []
    laj19 = next(i for i in data.items if i.story.key == "LAJ-19")
    assert len(laj19.references) == len(laj19.reference_cases) == laj19.reference_gherkin.count("Scenario:")
    assert any(n.startswith("LAJ-19: 19.feature line 179 is not Gherkin") for n in data.notes)
    # a script with no scenario at all is a clear error naming the file and the way out
    (tmp_path / "features").mkdir()
    (tmp_path / "tickets.csv").write_text("id,method,valid,title,description\n1,GET,True,t,d\n", encoding="utf-8")
    (tmp_path / "features" / "1.feature").write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(CasewrightError, match=r"1\.feature holds no scenario.*--ids"):
        load_laj(tmp_path)

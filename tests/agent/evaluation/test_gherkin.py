"""Gherkin validity with the official parser."""

from __future__ import annotations

from agent.evaluation.gherkin import gherkin_valid


def test_gherkin_validity():
    assert gherkin_valid("Feature: f\n  Scenario: s\n    Given a\n    Then b\n")
    assert not gherkin_valid("Feature: f\n  Scenario: s\n    Given a\n  not a step\n")
    assert not gherkin_valid("Feature: f\n")

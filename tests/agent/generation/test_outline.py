"""A Scenario Outline with Examples: one case per example row (default) or one case with the whole table, and
Gherkin output that keeps the Examples."""

from __future__ import annotations

import pytest
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.criteria import extract
from agent.models import CaseSet, Epic, Story
from agent.renderers.gherkin import render_features

OUTLINE = """{heading}
Scenario Outline: Sign in as <user>
  Given the account <user> exists
  When they sign in with password <password>
  Then they see <result>
  Examples:
    | user | password | result                      |
    | ann  | s3cret   | the dashboard               |
    | bob  | wrong    | the error "Invalid password" |
    | cy   | a\\|b     | the dashboard               |

Scenario: Sign out
  When the user signs out
  Then the login page is shown
"""


@pytest.fixture(params=["h3. Acceptance Criteria", "## Acceptance Criteria"], ids=["wiki", "markdown"])
def heading(request) -> str:
    return request.param


def _story(heading: str) -> Story:
    criteria, params, _ = extract("OUT-1", OUTLINE.replace("{heading}", heading), "")
    return Story(key="OUT-1", summary="Sign in", criteria=criteria, parameters=params, epic_key="OUT-0")


def _template(mode: str | None):
    t = load_template()
    return t if mode is None else t.model_copy(update={"outline_examples": mode})


def _features(story: Story, cases) -> dict:
    case_set = CaseSet(epic=Epic(key="OUT-0", summary="Outline epic"), stories=[story], cases=cases)
    (text,) = render_features(case_set).values()
    return Parser().parse(TokenScanner(text))["feature"]


def test_one_case_per_example_row_with_the_values_put_in_by_default(heading: str) -> None:
    story = _story(heading)
    assert [c.id for c in story.criteria] == ["OUT-1/AC-1", "OUT-1/AC-2"]
    cases = [c for c in generate_for_story(story, _template(None)).cases if c.criterion_ids == ["OUT-1/AC-1"]]
    assert len(cases) == 3
    assert [c.test_data for c in cases] == [
        {"user": "ann", "password": "s3cret", "result": "the dashboard"},
        {"user": "bob", "password": "wrong", "result": 'the error "Invalid password"'},
        {"user": "cy", "password": "a|b", "result": "the dashboard"},
    ]
    for case, (user, password, result) in zip(cases, [("ann", "s3cret", "the dashboard"),
                                                        ("bob", "wrong", 'the error "Invalid password"'),
                                                        ("cy", "a|b", "the dashboard")]):
        text = " ".join([case.title, case.objective, *case.preconditions,
                         *(f"{s.action} {s.data} {s.expected}" for s in case.steps)])
        assert "<" not in text and ">" not in text
        assert f"The account {user} exists." in case.preconditions
        assert f"password {password}" in case.steps[-1].action and result in case.steps[-1].expected
    assert [c.kind for c in cases] == ["positive", "negative", "positive"]
    assert len({c.title for c in cases}) == 3
    # Gherkin: one concrete Scenario per row, its values in a data table
    scenarios = [ch["scenario"] for ch in _features(story, cases)["children"]]
    assert [s["keyword"] for s in scenarios] == ["Scenario"] * 3 and not any(s["examples"] for s in scenarios)


def test_one_case_carrying_the_examples_table_by_template_option_and_gherkin_keeps_it(heading: str) -> None:
    story = _story(heading)
    cases = [c for c in generate_for_story(story, _template("table")).cases if c.criterion_ids == ["OUT-1/AC-1"]]
    (case,) = cases
    assert "<password>" in case.steps[-1].action and "<result>" in case.steps[-1].expected
    assert case.test_data == {"Example 1": "user: ann; password: s3cret; result: the dashboard",
                              "Example 2": 'user: bob; password: wrong; result: the error "Invalid password"',
                              "Example 3": "user: cy; password: a|b; result: the dashboard"}
    (scenario,) = [ch["scenario"] for ch in _features(story, cases)["children"]]
    assert scenario["keyword"] == "Scenario Outline"
    (examples,) = scenario["examples"]
    assert [c["value"] for c in examples["tableHeader"]["cells"]] == ["user", "password", "result"]
    assert [[c["value"] for c in r["cells"]] for r in examples["tableBody"]] == [
        ["ann", "s3cret", "the dashboard"], ["bob", "wrong", 'the error "Invalid password"'], ["cy", "a|b", "the dashboard"]]
    assert not any("dataTable" in s for s in scenario["steps"])  # the Examples replace the test-data table


def test_an_unknown_outline_option_is_refused() -> None:
    with pytest.raises(ValueError):
        load_template().model_validate({**load_template().model_dump(), "outline_examples": "sometimes"})

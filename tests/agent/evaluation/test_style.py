"""Style measures on rendered features: each defect is found where a tester would see it, and
well-written scenarios count none."""

from __future__ import annotations

from agent.evaluation.style import style_counts

MACHINE = """Feature: Tags
  Scenario: Verify that GET /tags responds with HTTP status code 400 when an invalid account ID is…
    Given I am an API consumer
    And The API is reachable at {{baseUrl}} and I hold valid credentials
    When Send POST /tags (data: body=a valid request body as described in the story)
    Then The API returns 200.
    When Inspect the response
    Then the body lists the tags.
    When Inspect the response
    Then the body lists the tags.

  Scenario: Verify that an unknown key is refused...
    Given the test data is:
      | Name        | Value              |
      | externalKey | valid externalKey  |
    When I send a GET request to /tags
    Then the API answers 404
"""

WRITTEN = """Feature: Tags
  Scenario: Verify that GET /tags rejects an invalid account ID
    Given I am an API consumer
    And the API is reachable at {{baseUrl}} and I hold valid credentials
    And the test data is:
      | Name      | Value          |
      | accountId | not-a-uuid     |
    When I send a GET request to /tags
    Then the API responds with HTTP status code 400
    And the response body names the invalid field

  Scenario: Verify that KillBill lists the tags of an account
    Given KillBill holds an account with two tags
    When the Agent opens the account
    Then API clients see both tags
"""


def test_each_defect_is_counted_once_per_scenario():
    got = style_counts(MACHINE)
    assert got.scenarios == 2 and got.defective == 2
    assert got.counts == {"truncated_name": 2, "step_case": 1, "bare_when": 1, "repeated_step": 1,
                          "placeholder_data": 2}


def test_sentences_names_and_concrete_data_are_not_defects():
    got = style_counts(WRITTEN)
    assert got.scenarios == 2 and got.defective == 0, got.counts


def test_a_feature_that_does_not_parse_has_no_scenarios_to_judge():
    assert style_counts("Scenario without a feature\n  Given x").scenarios == 0

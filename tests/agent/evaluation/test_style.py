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
                          "placeholder_data": 2, "count_without_noun": 0, "limit_probed_twice": 0}


def test_sentences_names_and_concrete_data_are_not_defects():
    got = style_counts(WRITTEN)
    assert got.scenarios == 2 and got.defective == 0, got.counts


def test_a_feature_that_does_not_parse_has_no_scenarios_to_judge():
    assert style_counts("Scenario without a feature\n  Given x").scenarios == 0


PROBES = """Feature: Payment extension
  @ER-UAT-2-01 @ER-2_AC-5 @boundary @medium
  Scenario: Verify that the Agent grants an extension with 2 (just inside 'at most 2')
    Given the test data is:
      | Name             | Value |
      | Value under test | 2     |
    When I grant the extension
    Then the extension is granted

  @ER-UAT-2-02 @ER-2_AC-3 @boundary @medium
  Scenario: Verify that an extension of 35 calendar days is granted to a hardship customer
    Given the test data is:
      | Name             | Value            |
      | Value under test | 35 calendar days |
    When I grant the extension
    Then the extension is granted

  @ER-UAT-2-03 @ER-2_AC-1 @boundary @medium
  Scenario: Verify that an extension of 35 days is granted
    Given the test data is:
      | Name             | Value   |
      | Value under test | 35 days |
    When I grant the extension
    Then the extension is granted

  @ER-UAT-2-04 @ER-2_AC-4 @boundary @medium
  Scenario: Verify that a 3rd payment extension in 12 months is refused
    Given the test data is:
      | Name             | Value                            |
      | Value under test | 3 payment extensions in 12 months |
    When I grant the extension
    Then the API responds with 400 and the extension is refused
"""


def test_a_count_without_its_noun_and_a_limit_probed_twice_in_two_spellings_are_defects():
    got = style_counts(PROBES)
    assert got.scenarios == 4
    assert got.counts["count_without_noun"] == 1  # "with 2 (just inside 'at most 2')"
    assert got.counts["limit_probed_twice"] == 1  # 35 days after 35 calendar days
    assert got.defective == 2


def test_counts_with_their_noun_amounts_and_status_codes_are_not_bare_counts():
    from agent.evaluation.style import bare_count
    assert bare_count("with 2 (just inside 'at most 2')") and bare_count("at least 18, or the form is refused")
    for fine in ("with 2 payment extensions in 12 months", "with $2,500.01 (just inside 'above $2,500.00')",
                 "the API responds with 400.", "with 15% off", "at 3:00 pm", "with 21 calendar days"):
        assert not bare_count(fine), fine


def test_twelve_months_and_one_year_are_one_probe_but_365_days_another():
    def feature(*values):
        body = "".join(f"""
  @boundary
  Scenario: Verify probe {n}
    Given the test data is:
      | Name             | Value |
      | Value under test | {v} |
    When I try it
    Then it is checked
""" for n, v in enumerate(values))
        return "Feature: Window" + body
    assert style_counts(feature("12 months", "1 year")).counts["limit_probed_twice"] == 1
    assert style_counts(feature("12 months", "365 days", "13 months")).counts["limit_probed_twice"] == 0

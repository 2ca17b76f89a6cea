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
                          "placeholder_data": 2, "count_without_noun": 0, "limit_probed_twice": 0,
                          "unit_misread": 0, "glued_endpoint": 0, "quantity_condition": 0, "repeated_word": 0}


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


UNSEEN_DEFECTS = """Feature: Wallet lookup
  Scenario: Verify that the endpoint responds within 300 ms with a 301st m (just outside 'within 300 ms')
    Given I am an API consumer
    When I send a GET request to /wallets/42
    Then the API answers after more than 300 ms

  Scenario: Verify that GET /wallets/{id} the endpoint responds within 300 ms for 95% of requests
    Given I am an API consumer
    When I send a GET request to /wallets/42
    Then the API answers within 300 ms

  Scenario: Verify that GET /wallets/{id} Returns 404 when the wallet does not exist
    Given I am an API consumer
    When I send a GET request to /wallets/0
    Then the API answers 404

  Scenario: Verify that GET /wallets/{id} requests time out when 30 seconds
    Given I am an API consumer
    When I send a GET request to /wallets/42
    Then the the request times out

  Scenario: Verify that POST /avatar accepts JPEG with 6 mb (just outside 'no more than 5 MB')
    Given I am a member
    When I upload a picture of 6 mb
    Then the upload is refused

  Scenario: Verify that GET /search allows with a 121st request per minute (just outside the limit)
    Given I am an API consumer
    When I send 121 requests in one minute
    Then the API answers 429
"""

UNSEEN_WRITTEN = """Feature: Wallet lookup
  Scenario: Verify that GET /wallets/{id} responds within 300 ms with 301 ms (just outside 'within 300 ms')
    Given I am an API consumer
    When I send a GET request to /wallets/42
    Then the API answers within 300 ms

  Scenario: Verify that requests to GET /wallets/{id} time out after 30 seconds
    Given I am an API consumer
    When I send a GET request to /wallets/42 that takes 31 seconds
    Then the request times out

  Scenario: Verify that POST /avatar rejects a picture of 6 MB
    Given I am a member
    When I upload a picture of 6 MB
    Then the upload is refused

  Scenario: Verify that GET /search refuses 121 requests per minute
    Given I am an API consumer
    When I send 121 requests in one minute
    Then the API answers 429

  Scenario: Verify that the account gets a 3rd payment extension in any rolling 12 months
    Given I am an agent
    When I grant a 3rd payment extension
    Then the extension is refused
"""


def test_the_defects_of_unseen_rest_tickets_are_counted():
    got = style_counts(UNSEEN_DEFECTS)
    assert got.scenarios == 6 and got.defective == 6, got.counts
    # a unit as an ordinal (twice: 'a 301st m', 'a 121st request per minute'), a lower-case size symbol
    assert got.counts["unit_misread"] == 3
    # 'GET /x the endpoint responds', 'GET /x Returns 404'
    assert got.counts["glued_endpoint"] == 2
    assert got.counts["quantity_condition"] == 1 and got.counts["repeated_word"] == 1


def test_quantities_with_units_and_one_sentence_titles_are_not_defects():
    got = style_counts(UNSEEN_WRITTEN)
    assert got.scenarios == 5 and got.defective == 0, got.counts


def test_times_of_day_and_hyphenated_words_are_not_misread():
    from agent.evaluation.style import quantities, repeated_word
    # two probes of one time-of-day rule are not "the same quantity twice"
    assert quantities("with at 3:01 pm (just inside 'after 3:00 pm')") == []
    assert not repeated_word("Register life support equipment during move-in in the service console")
    assert repeated_word("Then the the request times out")

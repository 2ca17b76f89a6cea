"""agent.intake: finding acceptance criteria in every style Jira stories are written in (criteria, sections, items),
reading the request they specify (api_spec), and judging them (quality)."""

from __future__ import annotations

from agent.intake.api_spec import parse_endpoint, parse_parameters
from agent.intake.criteria import extract, parse_criteria
from agent.intake.quality import assess_criterion, assess_story
from agent.models import AcceptanceCriterion

WIKI_DESCRIPTION = """h2. Move-out request

As an agent I want to book a move-out so that the customer stops being billed.

h3. Background
The customer must be identified first.

h3. Acceptance Criteria
* When the agent books a move-out for a future date, the final read is scheduled for that date
** The confirmation number is shown on screen
* If the move-out date is in the past, the booking is rejected with the message "Date must be today or later"
* Move-out cannot be booked for an account with an open payment plan

h3. Out of scope
* Solar customers must not be offered a move-out here
"""


def test_wiki_section_bullets_with_nested_items_and_ids() -> None:
    crits = parse_criteria("CW-1", WIKI_DESCRIPTION)
    assert [c.id for c in crits] == ["CW-1/AC-1", "CW-1/AC-2", "CW-1/AC-3"]
    assert all(c.section == "Acceptance Criteria" and c.style == "bullet" and c.story_key == "CW-1" for c in crits)
    first, second, third = crits
    # the nested bullet folds into its parent
    assert first.text.startswith("When the agent books a move-out for a future date, the final read is scheduled")
    assert "The confirmation number is shown on screen" in first.text
    assert first.when == ["the agent books a move-out for a future date"]
    assert first.then == ["the final read is scheduled for that date"]
    assert second.text == 'If the move-out date is in the past, the booking is rejected with the message "Date must be today or later"'
    assert third.text == "Move-out cannot be booked for an account with an open payment plan"
    assert not any(c.vague for c in crits)
    # Background and Out-of-scope sentences are not criteria, nor is the user-story sentence
    assert not any("identified" in c.text or "Solar" in c.text or "As an agent" in c.text for c in crits)
    # ids are stable: parsing again gives the same ids and texts
    assert [(c.id, c.text) for c in parse_criteria("CW-1", WIKI_DESCRIPTION)] == [(c.id, c.text) for c in crits]


GHERKIN = """*Acceptance Criteria*
Background:
  Given the agent is logged in to the service console

Scenario: Grant a payment extension
  Given a residential customer with an overdue bill of $120
  And no extension in the last 12 months
  When the agent grants an extension of 14 days
  Then the new due date is 14 days after the original due date
  And a confirmation SMS is sent to the customer

Scenario Outline: Reject long extensions
  Given a residential customer
  When the agent requests <days> days
  Then the request is rejected with "Maximum 21 days"
  Examples:
    | days |
    | 22   |
"""


def test_gherkin_one_criterion_per_scenario_with_steps_and_background() -> None:
    crits = parse_criteria("CW-2", GHERKIN)
    assert len(crits) == 2
    grant, reject = crits
    assert grant.style == "gherkin" and grant.section == "Acceptance Criteria"
    assert grant.text.split("\n")[0] == "Scenario: Grant a payment extension"
    assert grant.given == [
        "the agent is logged in to the service console",
        "a residential customer with an overdue bill of $120",
        "no extension in the last 12 months",
    ]
    assert grant.when == ["the agent grants an extension of 14 days"]
    assert grant.then == ["the new due date is 14 days after the original due date", "a confirmation SMS is sent to the customer"]
    assert reject.id == "CW-2/AC-2" and reject.then == ['the request is rejected with "Maximum 21 days"']
    assert "| 22 |" in reject.text  # the examples table stays with its scenario
    assert not grant.vague and not reject.vague


def test_gherkin_without_scenario_lines_splits_per_given_then_group() -> None:
    text = (
        "Given a customer with a direct debit\nWhen the debit fails twice\nThen the account is flagged for collections\n"
        "But no late fee is charged\n"
        "Given a flagged account\nWhen payment is received\nThen the flag is removed"
    )
    crits = parse_criteria("CW-7", text)  # a description with no AC heading: Gherkin is the fallback
    assert [c.when for c in crits] == [["the debit fails twice"], ["payment is received"]]
    assert crits[0].then == ["the account is flagged for collections", "no late fee is charged"]
    assert crits[1].given == ["a flagged account"]


def test_markdown_headings_numbered_items_and_wrapped_lines() -> None:
    text = """# Concessions

Customers on a pension should pay less.

## Business Rules
1. A concession is applied only if the customer holds a valid pension card.
2. The concession amount is $285 per year,
   split across four quarterly bills.
3) Expired cards are rejected with the message "Card expired".

## Notes
- The team should talk to billing.
"""
    crits = parse_criteria("CW-3", text)
    assert [c.text for c in crits] == [
        "A concession is applied only if the customer holds a valid pension card.",
        "The concession amount is $285 per year, split across four quarterly bills.",
        'Expired cards are rejected with the message "Card expired".',
    ]
    assert {c.style for c in crits} == {"numbered"} and {c.section for c in crits} == {"Business Rules"}


def test_colon_headings_and_bold_markdown_headings() -> None:
    text = """Summary of the change.

Validation:
- Postcode is required and must be 4 digits
- Email address is checked before the form is saved

**Edge Cases**
- A customer with two active accounts sees both in the account picker

Out of scope:
- Business customers
"""
    crits = parse_criteria("CW-5", text)
    assert [(c.section, c.text) for c in crits] == [
        ("Validation", "Postcode is required and must be 4 digits"),
        ("Validation", "Email address is checked before the form is saved"),
        ("Edge Cases", "A customer with two active accounts sees both in the account picker"),
    ]


def test_rule_sentences_are_the_last_fallback() -> None:
    text = (
        "As an agent, I want to verify callers so that account data stays private.\n\n"
        "The identity check protects customer data. An agent must verify two of: date of birth, address or last "
        "payment amount before discussing the account. Accounts flagged as vulnerable cannot be changed without a "
        "team leader. The screen has a blue header."
    )
    crits = parse_criteria("CW-4", text)
    assert [c.style for c in crits] == ["rule", "rule"]
    assert crits[0].text.startswith("An agent must verify two of: date of birth")
    assert crits[1].text == "Accounts flagged as vulnerable cannot be changed without a team leader."


def test_ac_field_whole_text_is_criteria_one_line_one_criterion() -> None:
    field = "Customer receives an SMS when the bill is issued.\nThe SMS shows the amount due and due date."
    crits = parse_criteria("CW-9", field, from_field=True)
    assert [c.text for c in crits] == [
        "Customer receives an SMS when the bill is issued.",
        "The SMS shows the amount due and due date.",
    ]
    assert crits[0].section == "" and crits[0].when == ["the bill is issued."]
    # the same text in a description, with no AC heading and no rule words, is not criteria
    assert parse_criteria("CW-9", field) == []


def test_adf_and_storage_inputs_are_parsed_like_text() -> None:
    adf = {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Acceptance criteria"}]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "If the meter read is older than 90 days, the agent is prompted to request a new read"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "The estimated read is displayed with the label "},
                    {"type": "text", "text": "Estimated", "marks": [{"type": "strong"}]}]}]},
            ]},
        ],
    }
    crits = parse_criteria("CW-10", adf)
    assert [(c.style, c.text) for c in crits] == [
        ("numbered", "If the meter read is older than 90 days, the agent is prompted to request a new read"),
        ("numbered", "The estimated read is displayed with the label Estimated"),
    ]
    storage = (
        "<h2>Business rules</h2><ul><li>Refunds over <strong>$500</strong> require a team leader approval</li>"
        "<li>Refunds are paid to the original payment method</li></ul><h2>Notes</h2><p>Ask finance.</p>"
    )
    crits = parse_criteria("CW-11", storage)
    assert [c.text for c in crits] == [
        "Refunds over $500 require a team leader approval",
        "Refunds are paid to the original payment method",
    ]
    assert crits[0].section == "Business rules"


def _crit(text: str, **kw: object) -> AcceptanceCriterion:
    return AcceptanceCriterion(id="X-1/AC-1", story_key="X-1", text=text, **kw)  # type: ignore[arg-type]


def test_assess_criterion_names_what_is_missing() -> None:
    c = _crit("When a user attempts to retrieve account tags successfully.", when=["a user attempts to retrieve account tags successfully."])
    assert assess_criterion(c) == ["no observable outcome"] and c.vague
    c = _crit("The API should respond with a 200 status code.")
    assert assess_criterion(c) == ["no condition"] and not c.vague
    c = _crit("The screen should be user friendly and fast.")
    missing = assess_criterion(c)
    assert c.vague and any(m.startswith("subjective wording ('user friendly')") for m in missing)
    c = _crit("The page loads fast: under 2 seconds for 95% of searches.")
    assert not any(m.startswith("subjective") for m in assess_criterion(c))
    c = _crit("The API should return an appropriate error status (e.g., 400).")
    assert c.vague is False and assess_criterion(c) and c.vague  # an e.g. example is not a measurable value
    c = _crit(
        "Scenario: extension\nGiven an overdue bill\nWhen the agent grants 14 days\nThen the due date moves by 14 days",
        style="gherkin", given=["an overdue bill"], when=["the agent grants 14 days"], then=["the due date moves by 14 days"],
    )
    assert assess_criterion(c) == [] and not c.vague


def test_assess_story_findings_and_messages() -> None:
    assert [f.code for f in assess_story("CW-20", [], "Some text")] == ["no-criteria"]
    f = assess_story("CW-20", [], "")[0]
    assert f.severity == "error" and "Add criteria" in f.message and f.story_key == "CW-20"

    good = parse_criteria("CW-1", WIKI_DESCRIPTION)
    assert assess_story("CW-1", good, WIKI_DESCRIPTION) == []

    vague_text = "Acceptance Criteria:\n- The page works well.\n- Users find it intuitive.\n- When the user clicks save."
    vague = parse_criteria("CW-21", vague_text)
    findings = assess_story("CW-21", vague, vague_text)
    assert findings[0].code == "vague-criteria" and findings[0].severity == "warning"
    assert "3 of 3 criteria are vague" in findings[0].message
    assert "add the expected result: status code, message or state change".lower() in findings[0].message.lower()
    per = [f for f in findings if f.code == "vague-criterion"]
    assert [f.criterion_id for f in per] == ["CW-21/AC-1", "CW-21/AC-2", "CW-21/AC-3"]
    assert all(f.severity == "info" for f in per)
    assert "no observable outcome" in per[2].message and "Add the expected result" in per[2].message


def test_parse_parameters_bullets_tables_and_body() -> None:
    text = """h3. Request
POST /api/v2/customers/{customerId}/extensions

h3. Path Parameters
* {{customerId}} (string, required): The customer number

||Name||Type||Required||Allowed values||Description||
|reason|string|yes|HARDSHIP, MEDICAL|Why the extension is granted|
|days|integer|no| |Length in days|

h3. Request Body
* Consumes: application/json
* Required: true
* Schema: An Extension object
"""
    params = parse_parameters(text)
    by_name = {p.name: p for p in params}
    assert by_name["customerId"].location == "path" and by_name["customerId"].required is True
    assert by_name["customerId"].type == "string"
    assert by_name["reason"].required is True and by_name["reason"].enum == ["HARDSHIP", "MEDICAL"]
    assert by_name["days"].required is False and by_name["days"].type == "integer"
    body = by_name["body"]
    assert (body.location, body.required, body.type, body.description) == ("body", True, "application/json", "An Extension object")
    assert parse_endpoint(text) == ("POST", "/api/v2/customers/{customerId}/extensions")


def test_parse_endpoint_from_text_or_title() -> None:
    assert parse_endpoint("GET {{baseUrl}}/1.0/kb/accounts/{accountId}/tags") == ("GET", "/1.0/kb/accounts/{accountId}/tags")
    assert parse_endpoint("Interaction occurs via the `DELETE /1.0/kb/accounts/{accountId}` endpoint.") == (
        "DELETE", "/1.0/kb/accounts/{accountId}")
    assert parse_endpoint("no endpoint here", "[API][PUT /1.0/kb/accounts/{accountId}/cbaRebalancing] Rebalance") == (
        "PUT", "/1.0/kb/accounts/{accountId}/cbaRebalancing")
    assert parse_endpoint("Customers get a bill", "Bill run") is None


def test_extract_prefers_the_ac_field() -> None:
    desc = WIKI_DESCRIPTION + "\nh3. HTTP Request\nPOST https://api.example.com/v1/move-outs\n"
    crits, params, endpoint = extract("CW-30", desc, "* The move-out is saved with status Booked")
    assert [c.text for c in crits] == ["The move-out is saved with status Booked"]
    assert endpoint == ("POST", "/v1/move-outs") and params == []
    crits, _, _ = extract("CW-30", desc, None)
    assert len(crits) == 3 and crits[0].id == "CW-30/AC-1"
    crits, _, _ = extract("CW-30", desc, "   ")
    assert len(crits) == 3


def test_condition_without_comma_is_split_at_the_result() -> None:
    text = (
        "h3. Acceptance Criteria\n"
        '# When the overdue balance is above the Agent limit the quick action shows "Refer to a Hardship Specialist"\n'
        "# When a user attempts to close the account successfully.\n"
    )
    shows, attempt = parse_criteria("CW-40", text)
    assert shows.when == ["the overdue balance is above the Agent limit"]
    assert shows.then == ['the quick action shows "Refer to a Hardship Specialist"']
    assert not shows.vague  # "quick action" is a screen element, not a subjective word
    assert attempt.when == ["a user attempts to close the account successfully."] and attempt.then == []
    assert attempt.vague and assess_criterion(attempt) == ["no observable outcome"]


def test_html_in_a_plain_text_ac_field_is_kept_as_text() -> None:
    field = "<script>alert(1)</script> in the name field is rejected with an error.\n<b>Bold</b> totals are shown on the invoice."
    criteria, _, _ = extract("ST-9", "h3. Acceptance Criteria\n* The description criterion is shown.", field)
    assert [c.text for c in criteria] == [
        "<script>alert(1)</script> in the name field is rejected with an error.",
        "<b>Bold</b> totals are shown on the invoice.",
    ]


def test_a_gherkin_feature_line_names_the_section_and_is_no_criterion() -> None:
    field = ("Feature: Sign in\n\n  Scenario: Wrong password\n    When the user signs in with a wrong password\n"
             "    Then the error 'Invalid password' is shown\n")
    criteria = parse_criteria("FT-1", field, from_field=True)
    assert [c.text.splitlines()[0] for c in criteria] == ["Scenario: Wrong password"]
    assert criteria[0].section == "Sign in"

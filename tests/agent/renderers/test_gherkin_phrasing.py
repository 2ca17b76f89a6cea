"""Gherkin written in the tester's voice: sentence case after the keyword, When steps as
sentences, one Then per response with Ands, no step said twice; and titles shortened by rule."""

from __future__ import annotations

from agent.evaluation.style import style_counts
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, CaseSet, Epic, Parameter, Step, Story, UATCase
from agent.renderers.gherkin import story_feature


def _feature(story: Story, cases: list[UATCase]) -> str:
    return story_feature(CaseSet(epic=Epic(key="E-1", summary="e"), stories=[story]), story, cases)


def test_manual_steps_read_as_sentences_in_the_feature():
    story = Story(key="T-1", summary="Tags")
    case = UATCase(id="C1", title="Verify that tags are listed", objective="o", persona="API consumer",
                   preconditions=["The API is reachable at {{baseUrl}}", "The API is reachable at {{baseUrl}}"],
                   story_key="T-1", criterion_ids=[], priority="High", labels=[],
                   steps=[Step(action="Send a GET request to /tags", data="accountId=1",
                               expected="The API returns 200. The body lists the tags."),
                          Step(action="Search for the account", expected="The body lists the tags.")])
    text = _feature(story, [case])
    assert "And the API is reachable at {{baseUrl}}" in text
    assert "When I send a GET request to /tags (data: accountId=1)" in text
    assert "Then the API returns 200.\n    And the body lists the tags." in text
    assert text.count("the body lists the tags") == 1
    assert "When I search for the account" in text
    assert style_counts(text).defective == 0


def test_generated_rest_cases_have_no_style_defects():
    story = Story(key="T-2", summary="Retrieve account tags", method="GET", endpoint="/1.0/kb/accounts/{accountId}/tags",
                  parameters=[Parameter(name="accountId", location="path", required=True, format="uuid")],
                  criteria=[AcceptanceCriterion(id="T-2/AC-1", story_key="T-2", text="If successful, returns a status code of 200."),
                            AcceptanceCriterion(id="T-2/AC-2", story_key="T-2", text="The response body will be a JSON array of Tag objects."),
                            AcceptanceCriterion(id="T-2/AC-3", story_key="T-2",
                                                text="Respond with HTTP status code 400 if an invalid account ID is supplied "
                                                     "by a caller that is not registered in the billing system of the tenant.")])
    cases = generate_for_story(story, load_template(), None).cases
    got = style_counts(_feature(story, cases))
    assert got.scenarios == len(cases) and got.defective == 0, got.counts


def test_long_titles_are_shortened_by_rule_not_cut():
    template = load_template()
    long = ("GET /1.0/kb/accounts/{accountId}/tags responds with HTTP status code 400 (bad request) when an invalid "
            "account ID is supplied by a caller that is not registered in the billing system of the tenant")
    title = template.title(long)
    assert len(title) <= template.title_max_length
    assert not title.endswith(("…", "...")) and "responds with 400 when an invalid account ID is supplied" in title


def test_an_optional_parameter_description_stays_inside_its_observation():
    story = Story(key="T-3", summary="Pay", method="POST", endpoint="/pay",
                  parameters=[Parameter(name="amount", location="query", type="number",
                                        description="The amount to pay. If not specified, Kill Bill pays the balance.")],
                  criteria=[AcceptanceCriterion(id="T-3/AC-1", story_key="T-3", text="If successful, returns a status code of 201.")])
    cases = generate_for_story(story, load_template(), None).cases
    text = _feature(story, cases)
    assert "(the amount to pay; if not specified, Kill Bill pays the balance)" in text
    assert style_counts(text).defective == 0, style_counts(text).counts

"""The measures: status codes and values the criteria name, and one story's score."""

from __future__ import annotations

from agent.evaluation.datasets import EvalItem
from agent.evaluation.metrics import criteria_values, score_story, status_codes
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, Step, Story, UATCase


def test_status_codes_and_criteria_values():
    assert status_codes("If successful, returns a status code of 200 (successful operation).") == {"200"}
    assert status_codes("Respond with HTTP status code 404 if the account is not found.") == {"404"}
    assert status_codes("The account has 200 invoices.") == set()
    story = Story(key="X-1", summary="s", criteria=[
        AcceptanceCriterion(id="X-1/AC-1", story_key="X-1", text="Respond with HTTP status code 400 if invalid."),
        AcceptanceCriterion(id="X-1/AC-2", story_key="X-1", text="Extensions longer than 21 days are refused."),
        AcceptanceCriterion(id="X-1/AC-3", story_key="X-1", text="Balances over $1,500.00 need approval."),
    ])
    assert criteria_values(story) >= {"400", "21", "1500"}


def test_score_story_measures_what_it_says(scorer):
    story = Story(key="X-2", summary="Refund", criteria=[
        AcceptanceCriterion(id="X-2/AC-1", story_key="X-2", text="Returns HTTP status code 201 when the refund is created."),
        AcceptanceCriterion(id="X-2/AC-2", story_key="X-2", text="Respond with HTTP status code 404 if the payment is not found."),
    ])
    good = UATCase(id="C1", title="Verify that a refund is created", objective="o", persona="API consumer",
                   preconditions=["p"], story_key="X-2", criterion_ids=["X-2/AC-1"], priority="High",
                   labels=["uat"], steps=[Step(action="POST a refund for the payment", expected="Status 201 is returned")])
    same = good.model_copy(update={"id": "C2"})
    invented = good.model_copy(update={"id": "C3", "steps": [Step(action="POST it again", expected="Status 409 is returned")]})
    item = EvalItem(story=story, references=["Verify that a refund is created. POST a refund -> 201",
                                             "Refund for an unknown payment returns 404"])
    s = score_story(item, [good, same, invented], template=load_template(), scorer=scorer)
    assert (s.criteria, s.criteria_covered) == (2, 1)
    assert (s.values, s.values_found) == (2, 1)            # 201 named, 404 missing
    assert s.duplicates == 1                               # C2 repeats C1
    assert s.unsupported >= 1                              # 409 is in neither the story nor a source
    assert s.gherkin_valid
    assert s.references == 2 and s.references_matched == 1
    assert s.best_similarities[0] > 0.9 > s.best_similarities[1]
    assert (s.status_codes, s.status_codes_found) == (2, 1)  # 201 named, 404 not
    assert s.cases_matched == 3                            # C3 keeps C1's title, so it matches too
    assert s.scenarios == 3


def test_style_defects_and_precision_reach_the_totals(scorer):
    from agent.evaluation.metrics import aggregate

    story = Story(key="X-3", summary="Tags", criteria=[
        AcceptanceCriterion(id="X-3/AC-1", story_key="X-3", text="Returns HTTP status code 200 with the tags."),
    ])
    case = UATCase(id="C1", title="Verify that the tags are listed when…", objective="o", persona="API consumer",
                   preconditions=["The API is reachable"], story_key="X-3", criterion_ids=["X-3/AC-1"],
                   priority="High", labels=["uat"], test_data={"body": "a valid request body as described in the story"},
                   steps=[Step(action="Inspect the response", expected="The API returns 200")])
    item = EvalItem(story=story, references=["Verify that the tags are listed. GET the tags -> 200"])
    s = score_story(item, [case], template=load_template(), scorer=scorer)
    # the renderer writes the step as a sentence ("When I inspect ...", "Then the API ..."), so
    # what is left to find is the cut title and the placeholder
    assert s.style == {"truncated_name": 1, "step_case": 0, "bare_when": 0, "repeated_step": 0,
                       "placeholder_data": 1, "count_without_noun": 0, "limit_probed_twice": 0,
                       "unit_misread": 0, "glued_endpoint": 0, "quantity_condition": 0, "repeated_word": 0}
    m = aggregate([s])
    assert m["style_defect_rate"] == 1.0 and m["style_truncated_name"] == 1
    assert m["status_code_recall"] == 1.0 and m["reference_precision"] == 1.0

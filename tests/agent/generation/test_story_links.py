"""End-to-end journeys only where one story's outcome is another's precondition: the same record,
state or document flows between them, and the journey case says which."""

from __future__ import annotations

from agent.generation.journeys import generate_flow_cases
from agent.generation.planning import plan_flows
from agent.generation.rules import generate_for_story
from agent.generation.story_links import checked_flows, find_links
from agent.generation.template import load_template
from agent.intake.epic import parse_story
from agent.llm.fitted_schema import fitted_plan_schema
from agent.llm.prompts import render_plan
from agent.models import AcceptanceCriterion, Epic, Flow, FlowLink, Story
from connectors.workspace import SAMPLE_PATH, load_workspace


def _sample(*keys: str) -> list[Story]:
    ws = load_workspace(SAMPLE_PATH)
    return [parse_story(ws, ws.issue(k), epic_key=None, ac_field_name="Acceptance Criteria", test_issue_type="Test")
            for k in keys]


def _story(key: str, summary: str, *criteria: str) -> Story:
    return Story(key=key, summary=summary, criteria=[
        AcceptanceCriterion(id=f"{key}/AC-{n}", story_key=key, text=t) for n, t in enumerate(criteria, start=1)])


ORDER = _story("SHOP-1", "Place an order",
               "When the customer confirms the basket, a Sales Order is created with status Placed.",
               "An order confirmation email with the order number is sent to the customer.")
SHIP = _story("SHOP-2", "Ship an order",
              "The warehouse clerk opens the Sales Order from the Orders list and marks it Shipped.",
              "A shipping notice with the tracking number is emailed to the customer.")
POINTS = _story("SHOP-3", "Show loyalty points on the profile page",
                "The profile page shows the customer's loyalty points balance.",
                "The customer sees an error when the points service is unavailable.")
ADDRESS = _story("SHOP-4", "Change the delivery address on the profile page",
                 "The customer can change the delivery address on the profile page.",
                 "An invalid postcode shows the error \"Enter a valid postcode\".")
VERIFY = _story("ID-1", "Verify a member's email address",
                "When the member opens the link in the email, the member is verified and the profile shows a tick.")
RESET = _story("ID-2", "Reset a member's password",
               "The Reset password button is only enabled after the member is verified.",
               "A reset code is sent to the member's email address.")


def test_the_sample_move_in_case_flows_into_the_connection_and_life_support_stories():
    stories = _sample("ER-9", "ER-10", "ER-11", "ER-12", "ER-13")
    flows = plan_flows(stories)
    assert [f.story_keys for f in flows] == [["ER-9", "ER-11", "ER-12"]]  # the approved journey ER-40's stories
    links = flows[0].links
    assert [(lk.source, lk.target, lk.what) for lk in links] == [("ER-9", "ER-11", "Move In case"),
                                                                 ("ER-9", "ER-12", "Move In case")]
    assert links[0].source_criterion == "ER-9/AC-4" and links[1].target_criterion == "ER-12/AC-3"
    assert "The Move In case created in ER-9 is the one ER-12" in links[1].statement
    assert "Move In case is submitted" in links[1].statement


def test_sample_stories_that_only_share_words_make_no_journey():
    # payment extension, payment plan, concession, hardship referral: related, but none starts from another's outcome
    assert plan_flows(_sample("ER-2", "ER-3", "ER-4", "ER-5", "ER-6", "ER-7")) == []


def test_a_state_flows_from_the_story_that_sets_it_to_the_one_that_requires_it():
    flows = plan_flows(_sample("ER-15", "ER-16", "ER-17", "ER-18"))
    assert [f.story_keys for f in flows] == [["ER-15", "ER-18"]]
    assert flows[0].links[0].what == "caller verified"
    assert "only enabled after the caller is verified" in flows[0].links[0].statement


def test_made_up_stories_that_feed_each_other_are_linked_by_the_record():
    links = find_links([ORDER, SHIP, POINTS, ADDRESS])
    assert [(lk.source, lk.target, lk.what) for lk in links] == [("SHOP-1", "SHOP-2", "Sales Order")]
    assert links[0].statement.startswith("The Sales Order created in SHOP-1 is the one SHOP-2 works on")
    assert [(lk.source, lk.target, lk.what) for lk in find_links([VERIFY, RESET])] == [("ID-1", "ID-2", "member verified")]


def test_made_up_stories_that_share_a_page_and_a_customer_do_not_feed_each_other():
    assert find_links([POINTS, ADDRESS]) == []
    # both make their own record of the same kind: neither needs the other's
    a = _story("T-1", "Log a complaint", "A complaint case is created with status Open.")
    b = _story("T-2", "Log a compliment", "A compliment case is created with status Open.")
    assert find_links([a, b]) == []


def test_a_refusal_produces_nothing_for_another_story():
    refused = _story("SHOP-5", "Place an order over the limit",
                     "An order above the credit limit cannot be saved and no Sales Order is created.")
    assert find_links([refused, SHIP]) == []


def test_the_journey_case_states_the_link_in_each_leg_and_its_objective():
    template = load_template()
    stories = [ORDER, SHIP]
    cases = [c for s in stories for c in generate_for_story(s, template, None).cases]
    e2e = generate_flow_cases(plan_flows(stories), stories, cases, template, "SHOP")
    assert len(e2e) == 1
    case = e2e[0]
    assert case.kind == "end_to_end" and "Sales Order" in case.title and "SHOP-1" in case.title
    assert "The Sales Order created in SHOP-1 is the one SHOP-2 works on" in case.objective
    assert case.steps[1].action.startswith("[SHOP-2]") and case.steps[1].data == "the Sales Order from SHOP-1"
    assert case.criterion_ids[:2] == ["SHOP-1/AC-1", "SHOP-2/AC-1"]


def test_rest_stories_link_the_resource_a_post_creates():
    def api(key, method, endpoint):
        s = _story(key, f"{method} {endpoint}", "If successful, returns a status code of 200.")
        return s.model_copy(update={"method": method, "endpoint": endpoint})

    create, read, remove = api("P-1", "POST", "/pets"), api("P-2", "GET", "/pets/{petId}"), api("P-3", "DELETE", "/pets/{petId}")
    flows = plan_flows([read, remove, create])
    assert [f.story_keys for f in flows] == [["P-1", "P-2", "P-3"]]
    assert flows[0].links[0].statement.startswith("The pet created in P-1 (POST /pets) is the one P-2 works on")
    assert plan_flows([read, remove]) == []  # reading and removing feed nothing to each other


def test_a_model_flow_is_kept_with_its_links_completed_or_dropped_when_unlinked():
    stated = FlowLink(source="SHOP-1", target="SHOP-2", what="order", statement="The order placed in SHOP-1 ships in SHOP-2.")
    own = Flow(name="order to shipping", story_keys=["SHOP-1", "SHOP-2"], links=[stated])
    bare = Flow(name="order to shipping", story_keys=["SHOP-1", "SHOP-2"])          # the rules' link fills it
    loose = Flow(name="profile", story_keys=["SHOP-3", "SHOP-4"], rationale="same page")  # nothing flows
    kept, dropped = checked_flows([own, bare, loose], [ORDER, SHIP, POINTS, ADDRESS])
    assert [f.links[0].statement for f in kept] == [stated.statement, find_links([ORDER, SHIP])[0].statement]
    assert len(dropped) == 1 and "SHOP-3 -> SHOP-4" in dropped[0] and "SHOP-4" in dropped[0]


def test_the_plan_schema_and_prompt_ask_the_model_for_the_links():
    schema = fitted_plan_schema(["SHOP-1", "SHOP-2"])
    link = schema["$defs"]["FlowLink"]["properties"]
    assert link["source"]["enum"] == ["SHOP-1", "SHOP-2"] and link["statement"]["maxLength"] == 240
    prompt = render_plan(Epic(key="SHOP", summary="Orders"), [ORDER, SHIP])
    assert "outcome is another's precondition" in prompt and '"links"' in prompt

"""Concrete REST test data: values by type and from what the ticket says of the body, never a
placeholder; where the ticket gives no shape, one line saying what the tester supplies."""

from __future__ import annotations

import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.generation.api_data import (
    OMITTED,
    api_value,
    change_of,
    missing_value,
    request_purpose,
    stated_response_time,
)
from agent.generation.rules import StoryGenerator
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, Parameter, Story
from tests.support.text_strategies import SETTINGS


def test_body_from_a_json_example_in_the_ticket():
    p = Parameter(name="body", location="body", description='The tag, e.g. {"name": "VIP", "color": "red"}.')
    assert json.loads(api_value(p)) == {"name": "VIP", "color": "red"}


def test_body_that_is_an_array_of_uuids_gets_uuids():
    p = Parameter(name="body", location="body",
                  description="A JSON array of strings, where each string is a UUID representing a tag definition.")
    values = json.loads(api_value(p))
    assert len(values) == 2 and all(uuid.UUID(v) for v in values)


def test_body_known_only_by_its_definition_says_what_the_tester_supplies():
    p = Parameter(name="body", location="body",
                  description="An Account object (as defined in #/definitions/Account) with the fields to update.")
    assert api_value(p) == "tester supplies: an Account object (#/definitions/Account) with valid values"
    bare = Parameter(name="body", location="body")
    assert api_value(bare).startswith("tester supplies: ")


def test_strings_and_dates_get_concrete_valid_and_invalid_values():
    key = Parameter(name="externalKey", location="query", type="string")
    assert api_value(key) == "uat-external-key-001"
    day = Parameter(name="requestedDate", location="query", type="string", format="date")
    assert api_value(day) == "2026-01-15" and api_value(day, valid=False) == "2026-13-45"


# --------------------------------------------------------------------------- what a request step says

def _story(summary: str, params: list[Parameter]) -> Story:
    return Story(key="SHOP-7", summary=summary, method="GET", endpoint="/v2/shops/{shopId}/orders", parameters=params)


def test_the_purpose_of_a_call_comes_from_the_summary_in_either_ticket_style():
    dash = _story("Build API: GET /v2/shops/{shopId}/orders - List open orders of a shop", [])
    bracket = _story("[API][DELETE /v2/carts/{cartId}] Empty a cart", [])
    assert request_purpose(dash) == "list open orders of a shop"
    assert request_purpose(bracket) == "empty a cart"
    assert request_purpose(_story("List open orders", [])) == ""  # no endpoint, no purpose claimed


def test_a_request_step_names_what_it_varies_and_not_the_plain_required_values():
    shop = Parameter(name="shopId", location="path", type="string", format="uuid", required=True)
    status = Parameter(name="status", location="query", type="string", enum=["OPEN", "SHIPPED"])
    actor = Parameter(name="X-Actor", location="header", type="string", required=True)
    story = _story("GET /v2/shops/{shopId}/orders - List orders", [shop, status, actor])
    valid = {p.name: api_value(p) for p in (shop, actor)}
    assert change_of(story, valid) == ""
    assert change_of(story, {**valid, "status": "SHIPPED"}) == "with status=SHIPPED"
    assert change_of(story, {**valid, "X-Actor": OMITTED}) == "without X-Actor"
    assert change_of(story, {**valid, "shopId": missing_value("shopId")}) == "for a shopId that does not exist"
    steps = StoryGenerator(story, load_template(None)).api_call("", ["The API returns 200."], "with status=SHIPPED")
    assert steps[0].action == "Send a GET request to /v2/shops/{shopId}/orders to list orders with status=SHIPPED"


@settings(**SETTINGS)
@given(name=st.from_regex(r"[a-z][A-Za-z]{1,12}", fullmatch=True), value=st.from_regex(r"[A-Z0-9_]{1,10}", fullmatch=True))
def test_any_optional_value_is_named_in_the_step(name: str, value: str):
    p = Parameter(name=name, location="query", type="string")
    story = _story("GET /v2/x - Read x", [p])
    assert change_of(story, {name: value}) == f"with {name}={value}"


def test_a_uuid_gets_a_uuid_and_its_malformed_value_says_what_it_is_not():
    shop = Parameter(name="shopId", location="path", type="string", format="uuid", required=True)
    assert uuid.UUID(api_value(shop))
    assert api_value(shop, valid=False) == "not-a-uuid"
    loose = Parameter(name="orderId", location="query", type="string")  # an id of no declared format
    assert api_value(loose, valid=False) == "not-a-valid-id"


def test_the_response_time_a_ticket_states_is_read_from_a_criterion_or_the_description():
    def story(criterion: str = "", description: str = "") -> Story:
        criteria = [AcceptanceCriterion(id="K-1/AC-1", story_key="K-1", text=criterion)] if criterion else []
        return Story(key="K-1", summary="s", description=description, criteria=criteria)

    figure, where = stated_response_time(story("The endpoint responds within 500 ms for 95% of calls."))
    assert (figure, where.id) == ("500 ms", "K-1/AC-1")
    assert stated_response_time(story(description="Latency must stay under 2 seconds.")) == ("2 seconds", None)
    assert stated_response_time(story("Returns the account in less than 1 s."))[0] == "1 second"
    # a number that is no response time: none is read
    assert stated_response_time(story("Respond with HTTP status code 400 if more than 100 tags are sent.")) == ("", None)
    assert stated_response_time(story("The response lists at most 50 accounts.")) == ("", None)

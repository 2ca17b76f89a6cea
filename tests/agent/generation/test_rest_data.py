"""Concrete REST test data: values by type and from what the ticket says of the body, never a
placeholder; where the ticket gives no shape, one line saying what the tester supplies."""

from __future__ import annotations

import json
import uuid

from agent.generation.api_data import api_value
from agent.models import Parameter


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

"""The input checks a REST story's declared inputs imply: a value that breaks its declared type, a
body object with a field left out or of the wrong type, an empty list body, and for a read that
answers a list, the list when empty and when long. Stories written here, not taken from a dataset."""

from __future__ import annotations

from agent.generation.api_data import body_items, body_shape, shape_words
from agent.generation.rest_inputs import typed
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, Parameter, Story


def _story(method: str, params: list[Parameter], criteria: list[tuple[str, str]]) -> Story:
    return Story(key="LIB-3", summary=f"{method} /v1/libraries/{{libraryId}}/loans - Lend books",
                 method=method, endpoint="/v1/libraries/{libraryId}/loans", parameters=params,
                 criteria=[AcceptanceCriterion(id=f"LIB-3/AC-{n}", story_key="LIB-3", text=t, section=s)
                           for n, (s, t) in enumerate(criteria, start=1)])


LIBRARY = Parameter(name="libraryId", location="path", type="string", format="uuid", required=True)
DUE = Parameter(name="dueDate", location="query", type="string", format="date")
COPIES = Parameter(name="copies", location="query", type="integer")
NOTE = Parameter(name="note", location="query", type="string")
RENEW = Parameter(name="renewable", location="query", type="boolean", default="false")
LOANS = Parameter(name="body", location="body", required=True,
                  description="A JSON array of `Loan` objects (as defined in #/definitions/Loan).")
OK = ("Success Scenario", "If successful, returns a status code of 201.")
BAD = ("Error Scenarios", "Respond with HTTP status code 400 if the request is invalid.")


def test_types_a_wrong_value_can_break():
    assert typed(DUE) == "date" and typed(COPIES) == "integer" and typed(LIBRARY) == "UUID"
    assert typed(RENEW) == "boolean"
    assert typed(NOTE) == ""


def test_the_body_object_is_read_from_its_description():
    assert body_shape(LOANS) == ("Loan", True)
    assert shape_words("Loan", True) == "a JSON array of Loan objects"
    assert shape_words("Account", False) == "an Account object"
    assert body_shape(Parameter(name="body", location="body", description="Whatever the caller wants.")) is None


def test_typed_inputs_and_the_body_object_get_their_own_rejection_cases():
    cases = generate_for_story(_story("POST", [LIBRARY, DUE, COPIES, NOTE, RENEW, LOANS], [OK, BAD]),
                               load_template(None)).cases
    by_title = {c.title: c for c in cases}
    due = next(c for t, c in by_title.items() if "dueDate that is not a valid date" in t)
    assert due.test_data["dueDate"] == "2026-13-45" and "400" in due.steps[0].expected
    assert due.steps[0].action.endswith("with dueDate=2026-13-45")
    assert any("copies that is not a valid integer" in t for t in by_title)
    renew = next(c for t, c in by_title.items() if "renewable that is not a valid boolean" in t)
    assert renew.test_data["renewable"] == "notaboolean" and "400" in renew.steps[0].expected
    assert not any("note that is not" in t for t in by_title)  # a plain string has no type to break
    assert any("Loan object with a required field left out" in t for t in by_title)
    assert any("Loan object with a field of the wrong type" in t for t in by_title)
    empty = next(c for t, c in by_title.items() if "list of Loan objects is empty" in t)
    assert empty.test_data["body"] == "[]" and empty.confidence == "low" and "confirm" in empty.notes


def test_no_rejection_cases_when_the_story_does_not_say_how_a_bad_request_is_answered():
    cases = generate_for_story(_story("POST", [LIBRARY, DUE, LOANS], [OK]), load_template(None)).cases
    assert not any("not a valid date" in c.title or "left out" in c.title for c in cases)


def test_a_read_that_answers_a_list_is_checked_empty_and_long():
    listing = ("Success Scenario", "The response body will be a JSON array of `Loan` objects with status code 200.")
    cases = generate_for_story(_story("GET", [LIBRARY], [listing]), load_template(None)).cases
    empty = next(c for c in cases if "empty list when there are no Loan objects" in c.title)
    assert "empty JSON array" in empty.steps[0].expected and "No Loan object exists" in " ".join(empty.preconditions)
    assert any("every Loan object when there are many" in c.title for c in cases)
    writes = generate_for_story(_story("POST", [LIBRARY], [listing]), load_template(None)).cases
    assert not any("empty list" in c.title for c in writes)  # only a read lists what exists


def test_success_outcomes_in_a_domain_of_refusal_words_stay_one_positive_case():
    lock = [("Success Scenario", "If successful, returns a status code of 201 (Lock placed on the account)."),
            ("Success Scenario", "The response body will be a JSON array of `Lock` objects."), BAD]
    cases = generate_for_story(_story("POST", [LIBRARY], lock), load_template(None)).cases
    ok = [c for c in cases if "LIB-3/AC-1" in c.criterion_ids and "LIB-3/AC-2" in c.criterion_ids]
    assert ok and ok[0].kind == "positive" and "201" in ok[0].steps[0].expected


def test_a_list_body_is_checked_empty_repeated_and_long_and_says_what_the_ticket_leaves_open():
    ids = Parameter(name="body", location="body", required=True,
                    description="A JSON array of strings, each a UUID of a book to lend.")
    assert body_items(ids) == "UUIDs" and body_items(LOANS) == "Loan objects"
    assert body_items(Parameter(name="body", location="body", description="An `Account` object.")) is None
    cases = generate_for_story(_story("POST", [LIBRARY, ids], [OK, BAD]), load_template(None)).cases
    titles = [c.title for c in cases]
    assert any("list of UUIDs is empty" in t for t in titles)
    repeated = next(c for c in cases if "stores a repeated UUID once" in c.title)
    long = next(c for c in cases if "long list of UUIDs" in c.title)
    for c in (repeated, long):
        assert c.confidence == "low" and "does not say" in c.notes
    assert "100" in long.test_data["body"]

"""House negative checks for REST stories that the template switches on by name
(`negative_checks:` in the house template): no credentials, a wrong Content-Type, an unknown field
in the body. The checks built from the story's parameters (a required one left out, a malformed
value, a value outside an enumeration, an id that names nothing) are in agent/generation/rest_api.py
and are switched by the same list.

A check traces to the criterion that names its status code (401, 415, 400) and then takes that
criterion's outcome as the expected result; otherwise it is a house check traced to no criterion
(labelled standard-check, medium confidence), with the template's usual answer.
"""

from __future__ import annotations

import re

from agent.generation.drafts import Draft, Drafting
from agent.generation.phrasing import declarative, sentence, split_behaviour

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# name -> (status code, title, data, objective, expected when no criterion names the code, needs a body)
_CHECKS: dict[str, tuple[str, str, str, str, str, bool]] = {
    "missing_auth": ("401", "{method} {endpoint} refuses a request without credentials", "no Authorization header",
                     "Check that the endpoint requires authentication",
                     "The API answers 401 Unauthorized and returns no data.", False),
    "wrong_content_type": ("415", "{method} {endpoint} refuses a body sent as plain text",
                           "Content-Type: text/plain instead of application/json",
                           "Check that the endpoint only accepts its documented content type",
                           "The API answers 415 Unsupported Media Type and changes no data.", True),
    "unknown_fields": ("400", "{method} {endpoint} refuses a body with an unknown field",
                       "the JSON body with an extra field unexpectedField=\"x\"",
                       "Check that fields the contract does not define are refused",
                       "The API rejects the body with a 4xx error that names the unknown field, and changes no data.",
                       True),
}


def house_negative_checks(gen: Drafting, base: dict[str, str], persona: str) -> None:
    """The house negative checks the template lists, for a REST story, added to `gen`'s drafts."""
    story = gen.story
    has_body = (story.method or "").upper() in _BODY_METHODS or any(p.location == "body" for p in story.parameters)
    for name in gen.template.negative_checks:
        if name not in _CHECKS:
            continue  # a parameter check, written in rest_api.py
        code, title, data, objective, expected, needs_body = _CHECKS[name]
        if needs_body and not has_body:
            continue
        named = next((c for c in story.criteria if re.search(rf"\b{code}\b", c.text)), None)
        if named is not None:
            expected = declarative(split_behaviour(named.text).outcome, "the API")
        fill = {"method": story.method, "endpoint": story.endpoint}
        sent = "; ".join([*(f"{k}={v}" for k, v in base.items()), data])
        gen.add(Draft(
            title=gen.template.title(title.format(**fill)), objective=sentence(objective), kind="negative",
            criterion_ids=[named.id] if named is not None else [],
            steps=gen.api_call(sent, [expected]), preconditions=gen.base_preconditions(persona),
            test_data={**base, "Variation": data}, persona=persona,
            confidence="high" if named is not None else "medium", sources=[story.source()],
            notes="" if named is not None else "House negative check from the template; not stated in the story's criteria.",
            standard=named is None))

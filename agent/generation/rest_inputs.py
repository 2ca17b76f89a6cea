"""The input checks a REST story's declared inputs imply, each from what the ticket says of the input:
a query or header value that breaks its declared type or format (a malformed UUID or date, text
where a number or a boolean belongs), and for a body that names its object, the object with a required field
left out and with a field of the wrong type, and an empty list where the body is a list.

Only for stories that say how a bad request is answered (a 400 criterion): the expected result is
that criterion's. An empty list is the exception: tickets rarely say whether it is accepted, so
that case asks for no server error and a clear answer, and says the tester confirms which.
"""

from __future__ import annotations

import re

from agent.generation.api_data import api_value, body_items, body_shape, change_of, shape_words
from agent.generation.drafts import Draft, Drafting
from agent.generation.phrasing import sentence
from agent.generation.rest_api import rejection, success
from agent.models import Parameter

_FORMATS = {"uuid": "UUID", "date": "date", "date-time": "date-time"}


def typed(p: Parameter) -> str:
    """The type or format a value of `p` must have, in words ('' when the ticket declares none that
    a wrong value can break)."""
    fmt = (p.format or "").lower()
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    if p.type in {"integer", "number", "boolean"}:
        return p.type
    return ""


def api_inputs(gen: Drafting) -> None:
    """Add the input checks of `gen`'s story to its drafts."""
    story = gen.story
    error_400, bad_ids, expected_bad = rejection(story)
    if error_400 is None:
        return
    persona = gen.styled_persona or "API consumer"
    base = {p.name: api_value(p) for p in story.parameters if p.required}
    tried = {(k, v) for d in gen.drafts for k, v in d.test_data.items()}

    def add(title: str, objective: str, data: dict[str, str], expected: str, change: str,
            confidence: str = "medium", notes: str = "") -> None:
        gen.add(Draft(
            title=gen.template.title(f"{story.method} {story.endpoint} {title}"), objective=sentence(objective),
            kind="negative", criterion_ids=[error_400.id],
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [expected], change),
            preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
            confidence=confidence, sources=[story.source()], notes=notes))

    for p in story.parameters:
        kind = typed(p)
        if not kind or p.location in {"path", "body"} or p.enum:
            continue  # path ids come from the criteria and api_parameters, enumerations there too
        bad = api_value(p, valid=False)
        if (p.name, bad) in tried:
            continue
        data = {**base, p.name: bad}
        add(f"rejects {'an' if p.name[:1].lower() in 'aeiou' else 'a'} {p.name} that is not a valid {kind}",
            f"Check that {p.name} must be a valid {kind}", data, expected_bad, change_of(story, data))
    body = next((p for p in story.parameters if p.location == "body"), None)
    if body is None:
        return
    shape = body_shape(body)
    if shape:
        name, many = shape
        what = shape_words(name, many)
        for title, objective, value, change in (
            (f"rejects {'a' if many else 'the'} {name} object with a required field left out",
             f"Check that every required field of the {name} object is enforced",
             f"{what} in which one {name} object lacks a required field (tester names the field)",
             f"with {'a' if many else 'the'} {name} object lacking a required field"),
            (f"rejects {'a' if many else 'the'} {name} object with a field of the wrong type",
             f"Check that the fields of the {name} object are type-checked",
             f"{what} in which one field holds text where the {name} definition requires a number, "
             "a boolean or a date (tester names the field)",
             f"with a field of the wrong type in {'a' if many else 'the'} {name} object"),
        ):
            add(title, objective, {**base, body.name: value}, expected_bad, change)
    items = body_items(body)
    if not items:
        return
    unsaid = "The ticket does not say how the API treats {}; confirm the expected status."
    add(f"answers clearly when the list of {items} is empty", f"Check the answer to an empty list of {items}",
        {**base, body.name: "[]"},
        "The API answers with a documented status, not a server error (5xx), and nothing is changed.",
        "with an empty JSON array as the body", confidence="low", notes=unsaid.format("an empty list"))
    add(f"stores a repeated {items[:-1] if items.endswith('s') else items} once",
        f"Check that a list naming one of its {items} twice creates no duplicate",
        {**base, body.name: f"a list of {items} in which one entry appears twice (tester supplies the entry)"},
        "The API either refuses the repeated entry with a client error (4xx) or keeps it once; it is never stored twice.",
        "with one entry repeated in the body", confidence="low", notes=unsaid.format("a repeated entry"))
    add(f"handles a long list of {items}", f"Check the answer to a list of many {items}",
        {**base, body.name: f"a list of 100 {items} (tester supplies them)"},
        "The API either accepts every entry as the story says for success or refuses the list with a client "
        "error (4xx) that names the size limit; it never answers a server error (5xx).",
        "with 100 entries in the body", confidence="low", notes=unsaid.format("a long list"))

def api_collections(gen: Drafting) -> None:
    """A read whose success criterion answers a list ('a JSON array of `Tag` objects'): the list when
    there is nothing to list, and when there are many."""
    story = gen.story
    if story.method != "GET":
        return
    for c in story.criteria:
        shape = body_shape(Parameter(name="response", location="body", description=c.text))
        if not shape or not shape[1] or not re.search(r"\b2\d\d\b|respon", c.text):
            continue
        name = shape[0]
        persona = gen.styled_persona or "API consumer"
        base = {p.name: api_value(p) for p in story.parameters if p.required}
        ok_ids, ok_expected = success(story)
        for title, pre, expected in (
            (f"returns an empty list when there are no {name} objects", f"No {name} object exists for the request's data",
             "The response body is an empty JSON array."),
            (f"returns every {name} object when there are many", f"Many {name} objects (e.g. 200) exist for the request's data",
             f"The response body holds every {name} object, none twice."),
        ):
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} {title}"),
                objective=sentence(f"Check that the endpoint {title}"), kind="positive",
                criterion_ids=list(dict.fromkeys(ok_ids + [c.id])),
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in base.items()), [ok_expected, expected]),
                preconditions=gen.base_preconditions(persona) + [sentence(pre)], test_data=dict(base), persona=persona,
                confidence="medium", sources=[story.source()]))
        return

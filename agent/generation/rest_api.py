"""The REST-specific cases of a story that declares a method, an endpoint and its parameters.

Concrete parameter values (valid and invalid), the test data a criterion's condition implies
("an invalid id is supplied", "the body is malformed"), and the cases the parameters imply beyond
the criteria: each optional parameter and allowed value, unsupported values, malformed and unknown
path ids, a required parameter left out, and the template's standard API checks.
"""

from __future__ import annotations

import re

from agent.generation.api_data import OMITTED, api_value, change_of, described, missing_value, stated_response_time
from agent.generation.drafts import Draft, Drafting
from agent.generation.negative_checks import house_negative_checks
from agent.generation.phrasing import declarative, sentence, split_behaviour
from agent.generation.template import placeholders
from agent.models import AcceptanceCriterion, Parameter, Story

SUCCESS_SECTIONS = re.compile(r"success|happy|positive", re.I)


def rejection(story: Story) -> tuple[AcceptanceCriterion | None, list[str], str]:
    """How the story says a bad request is answered: its 400 criterion (or None), the criterion ids a
    rejected-input case traces to, and the expected result."""
    error_400 = next((c for c in story.criteria if re.search(r"\b400\b", c.text)), None)
    bad_ids = [error_400.id] if error_400 else [c.id for c in story.criteria[:1]]
    expected_bad = (declarative(split_behaviour(error_400.text).outcome, "the API") if error_400
                    else "The API rejects the request with a client error (4xx) that names the problem.")
    return error_400, bad_ids, expected_bad


def success(story: Story) -> tuple[list[str], str]:
    """The criterion a successful call traces to (its id, in a list) and what it says is returned."""
    found = [c for c in story.criteria if SUCCESS_SECTIONS.search(c.section or "")] or story.criteria[:1]
    expected = declarative(split_behaviour(found[0].text).outcome, "the API") if found else \
        "The API returns a successful response."
    return [c.id for c in found[:1]], expected


def free_text(p: Parameter) -> bool:
    """A query or header parameter that takes any text (a string with no enumeration, format or
    pattern): where a script or other hostile text can get in and be echoed back."""
    return (p.location in {"query", "header"} and (p.type in {"string", ""} or p.type.startswith("array"))
            and not p.enum and not p.format and not p.pattern)


def api_parameters(gen: Drafting) -> None:
    """The cases the story's parameters imply beyond its criteria, added to `gen`'s drafts."""
    story = gen.story
    required = [p for p in story.parameters if p.required]
    error_400, bad_ids, expected_bad = rejection(story)
    persona = "API consumer" if not gen.styled_persona else gen.styled_persona
    ok_ids, ok_expected = success(story)
    base = {p.name: api_value(p) for p in required}
    checks = gen.template.negative_checks
    for p in story.parameters:
        if p.required or p.location == "body":
            continue
        values = p.enum or (["true", "false"] if p.type == "boolean" else [])
        for v in values or [api_value(p)]:
            data = {**base, p.name: v}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} honours {p.name}={v}"),
                objective=sentence(f"Check the optional {p.location} parameter {p.name} with value {v}"
                                   + (f" (default {p.default})" if p.default else "")),
                kind="positive", criterion_ids=ok_ids,
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                   [ok_expected, f"The response reflects {p.name}={v}"
                                    + (f" ({described(p.description)})" if p.description else "") + "."],
                                   change_of(story, data)),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
        if p.enum and "unsupported_value" in checks:
            data = {**base, p.name: "INVALID_VALUE"}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} rejects an unsupported {p.name}"),
                objective=sentence(f"Check that {p.name} only accepts {', '.join(p.enum)}"), kind="negative",
                criterion_ids=bad_ids, steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                                          [expected_bad], change_of(story, data)),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="high" if error_400 else "medium", sources=[story.source()]))
    optional = [p for p in story.parameters if not p.required and p.location != "body"]
    if len(optional) >= 2:
        data = {**base, **{p.name: api_value(p) if not p.enum else p.enum[0] for p in optional}}
        gen.add(Draft(
            title=gen.template.title(f"{story.method} {story.endpoint} accepts every optional parameter together"),
            objective=sentence("Check the call with all optional parameters set: "
                               + ", ".join(p.name for p in optional)),
            kind="positive", criterion_ids=ok_ids,
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [ok_expected],
                               "with every optional parameter set"),
            preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
            confidence="medium", sources=[story.source()]))
    error_404 = next((c for c in story.criteria if re.search(r"\b404\b", c.text)), None)
    for p in required:
        if p.location != "path":
            continue
        tried = {d.test_data.get(p.name, "") for d in gen.drafts}
        if "malformed_value" in checks and error_400 and api_value(p, valid=False) not in tried and (p.format or p.pattern):
            data = {**base, p.name: api_value(p, valid=False)}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} rejects a malformed {p.name}"),
                objective=sentence(f"Check that {p.name} must be a valid {p.format or p.type or 'value'}"
                                   + (f" matching {p.pattern}" if p.pattern else "")),
                kind="negative", criterion_ids=[error_400.id],
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [expected_bad],
                                   change_of(story, data)),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
        if "unknown_id" in checks and error_404 and not any("does not exist" in t for t in tried):
            data = {**base, p.name: missing_value(p.name)}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} answers 404 for an unknown {p.name}"),
                objective=sentence(f"Check the response when {p.name} names nothing that exists"),
                kind="negative", criterion_ids=[error_404.id],
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                   [declarative(split_behaviour(error_404.text).outcome, "the API")],
                                   change_of(story, data)),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
    stated_time, time_criterion = stated_response_time(story)
    for check in gen.template.standard_checks.get("api", []):
        target = next((p.name for p in story.parameters if p.location in {"query", "path"}), "id")
        fill = {"method": story.method, "endpoint": story.endpoint, "param": target,
                "text_param": next((p.name for where in ("query", "header") for p in story.parameters
                                    if p.location == where and free_text(p)), target),
                "response_time": stated_time or gen.template.response_time}
        timed = any("response_time" in placeholders(t) for t in (check.title, check.objective, check.data, check.expected))
        if timed and not fill["response_time"]:
            continue  # neither the ticket nor the template says how fast: no figure is invented
        traced = time_criterion if timed else None  # the ticket's own target: the check verifies that criterion
        data = {**base}
        gen.add(Draft(
            title=gen.template.title(check.title.format(**fill)),
            objective=sentence(check.objective.format(**fill) if check.objective else check.title.format(**fill)),
            kind="negative", criterion_ids=[traced.id] if traced else [],
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()) + f"; {check.data.format(**fill)}",
                               [check.expected.format(**fill)], f"- {check.data.format(**fill)}"),
            preconditions=gen.base_preconditions(persona), test_data={**data, "Variation": check.data.format(**fill)},
            persona=persona, confidence="high" if traced else "medium", sources=[story.source()],
            notes="" if traced else "House standard check from the template; not stated in the story's criteria.",
            standard=traced is None))
    house_negative_checks(gen, base, persona)
    for p in required if "missing_required" in checks else []:
        data = {k: v for k, v in base.items() if k != p.name}
        if p.location == "path":
            continue  # a missing path segment is a different endpoint; invalid formats come from the criteria
        gen.add(Draft(
            title=gen.template.title(f"{story.method} {story.endpoint} rejects a request without {p.name}"),
            objective=sentence(f"Check that the required {p.location} parameter {p.name} is enforced"),
            kind="negative", criterion_ids=bad_ids,
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()) + f"; {p.name} omitted",
                               [expected_bad], change_of(story, {p.name: OMITTED})),
            preconditions=gen.base_preconditions(persona), test_data={**data, p.name: OMITTED},
            persona=persona, confidence="high" if error_400 else "medium", sources=[story.source()]))

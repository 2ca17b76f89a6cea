"""The REST-specific cases of a story that declares a method, an endpoint and its parameters.

Concrete parameter values (valid and invalid), the test data a criterion's condition implies
("an invalid id is supplied", "the body is malformed"), and the cases the parameters imply beyond
the criteria: each optional parameter and allowed value, unsupported values, malformed and unknown
path ids, a required parameter left out, and the template's standard API checks.
"""

from __future__ import annotations

import json
import re
import uuid

from agent.generation.drafts import Draft, Drafting
from agent.generation.negative_checks import house_negative_checks
from agent.generation.phrasing import clean, declarative, sentence, split_behaviour
from agent.models import Parameter, Story

SUCCESS_SECTIONS = re.compile(r"success|happy|positive", re.I)


def api_value(p: Parameter, *, valid: bool = True) -> str:
    seed = f"{p.name}"
    fmt = (p.format or "").lower()
    if not valid:
        if fmt == "uuid" or "uuid" in (p.pattern or "") or p.name.lower().endswith("id"):
            return "not-a-valid-id"
        if fmt in {"date", "date-time"}:
            return "2026-13-45"  # no such month or day
        if p.enum:
            return "INVALID_VALUE"
        if p.type in {"integer", "number"}:
            return "abc"
        if p.type == "boolean":
            return "notaboolean"
        return ""
    if p.enum:
        return p.default if p.default in p.enum else p.enum[0]
    if fmt == "uuid" or p.name.lower().endswith("id"):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/" + seed))
    if fmt in {"date", "date-time"}:
        return "2026-01-15" if fmt == "date" else "2026-01-15T10:00:00Z"
    if p.type == "boolean":
        return "true"
    if p.type in {"integer", "number"}:
        return p.default or "1"
    if p.location == "header":
        return "uat-tester" if "by" in p.name.lower() else f"UAT {p.name.split('-')[-1].lower()}"
    if p.location == "body":
        return body_value(p)
    if p.default:
        return p.default
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", p.name).lower()
    return f"uat-{words}-001"  # a concrete string the tester can recognise in the data


_JSON_EXAMPLE = re.compile(r"(\{[^{}]*\}|\[[^\[\]]*\])")
_DEFINITION = re.compile(r"\b(?:an? |the )?(?:JSON )?(array of )?(\w+) objects?\b", re.I)
_DEFINITION_REF = re.compile(r"#/definitions/\w+")


def body_value(p: Parameter) -> str:
    """A request body from what the ticket says of it: its JSON example, an array of UUIDs, or
    (when only the object's name is known) what the tester must supply."""
    text = p.description or ""
    for m in _JSON_EXAMPLE.finditer(text):
        try:
            return json.dumps(json.loads(m.group(1)))
        except ValueError:
            continue
    if re.search(r"array of (?:strings?|ids?)\b.*\buuid|array of uuids?", text, re.I):
        return json.dumps([str(uuid.uuid5(uuid.NAMESPACE_URL, f"casewright/{p.name}/{n}")) for n in (1, 2)])
    m = _DEFINITION.search(text)
    if m and m.group(2).lower() not in {"json", "a", "an"}:
        name = m.group(2)
        shape = f"a JSON array of {name} objects" if m.group(1) else \
            f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name} object"
        found = _DEFINITION_REF.search(text)
        ref = f" ({found.group(0)})" if found else ""
        return f"tester supplies: {shape}{ref} with valid values"
    return "tester supplies: a JSON body with valid values for every required field"


def described(text: str) -> str:
    """A parameter's description as one clause inside an observation: its sentences joined by
    semicolons, a sentence-start capital lower-cased ('If true, includes ...' -> 'if true, includes ...')."""
    parts = [t.strip().rstrip(".") for t in re.split(r"(?<=[.!?])\s+(?=[A-Z])", clean(text)) if t.strip()]
    return "; ".join(t[0].lower() + t[1:] if t[1:2].islower() else t for t in parts)


def param_data(params: list[Parameter]) -> str:
    return "; ".join(f"{p.name}={api_value(p)}" for p in params)


def condition_data(story: Story, condition: str, data: str, test_data: dict[str, str]) -> str:
    """The values a criterion's condition implies ("an invalid id is supplied"), set in `test_data`;
    returns the data rendered with the condition."""
    cond = condition.lower()
    for p in story.parameters:
        words = {w for w in re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", p.name).lower()) if len(w) > 2}
        if words and all(w in cond for w in words) or p.name.lower() in cond:
            if re.search(r"invalid|malformed|wrong|bad", cond):
                test_data[p.name] = api_value(p, valid=False)
            elif re.search(r"not found|does not exist|unknown|non-?existent", cond):
                test_data[p.name] = str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + p.name)) + " (does not exist)"
            elif re.search(r"missing|without|not (?:provided|supplied)", cond):
                test_data[p.name] = "(omitted)"
    if "body" in cond and re.search(r"malformed|invalid", cond):
        test_data["body"] = "{ malformed json"
    if re.search(r"not found|does not exist", cond) and not any("does not exist" in v for v in test_data.values()):
        ids = [p for p in story.parameters if p.location == "path"]
        if ids:
            test_data[ids[0].name] = str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + ids[0].name)) + " (does not exist)"
    rendered = "; ".join(f"{k}={v}" for k, v in test_data.items())
    return f"{rendered} ({clean(condition).rstrip('.')})" if rendered else clean(condition)


def api_parameters(gen: Drafting) -> None:
    """The cases the story's parameters imply beyond its criteria, added to `gen`'s drafts."""
    story = gen.story
    required = [p for p in story.parameters if p.required]
    error_400 = next((c for c in story.criteria if re.search(r"\b400\b", c.text)), None)
    bad_ids = [error_400.id] if error_400 else [c.id for c in story.criteria[:1]]
    expected_bad = (declarative(split_behaviour(error_400.text).outcome, "the API") if error_400
                    else "The API rejects the request with a client error (4xx) that names the problem.")
    persona = "API consumer" if not gen.styled_persona else gen.styled_persona
    success = [c for c in story.criteria if SUCCESS_SECTIONS.search(c.section or "")] or story.criteria[:1]
    ok_expected = declarative(split_behaviour(success[0].text).outcome, "the API") if success else \
        "The API returns a successful response."
    ok_ids = [c.id for c in success[:1]]
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
                                    + (f" ({described(p.description)})" if p.description else "") + "."]),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
        if p.enum and "unsupported_value" in checks:
            data = {**base, p.name: "INVALID_VALUE"}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} rejects an unsupported {p.name}"),
                objective=sentence(f"Check that {p.name} only accepts {', '.join(p.enum)}"), kind="negative",
                criterion_ids=bad_ids, steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                                          [expected_bad]),
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
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [ok_expected]),
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
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [expected_bad]),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
        if "unknown_id" in checks and error_404 and not any("does not exist" in t for t in tried):
            data = {**base, p.name: str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + p.name)) + " (does not exist)"}
            gen.add(Draft(
                title=gen.template.title(f"{story.method} {story.endpoint} answers 404 for an unknown {p.name}"),
                objective=sentence(f"Check the response when {p.name} names nothing that exists"),
                kind="negative", criterion_ids=[error_404.id],
                steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                   [declarative(split_behaviour(error_404.text).outcome, "the API")]),
                preconditions=gen.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
    for check in gen.template.standard_checks.get("api", []):
        target = next((p.name for p in story.parameters if p.location in {"query", "path"}), "id")
        fill = {"method": story.method, "endpoint": story.endpoint, "param": target}
        data = {**base}
        gen.add(Draft(
            title=gen.template.title(check.title.format(**fill)),
            objective=sentence(check.objective.format(**fill) if check.objective else check.title.format(**fill)),
            kind="negative", criterion_ids=[],
            steps=gen.api_call("; ".join(f"{k}={x}" for k, x in data.items()) + f"; {check.data.format(**fill)}",
                               [check.expected.format(**fill)]),
            preconditions=gen.base_preconditions(persona), test_data={**data, "Variation": check.data.format(**fill)},
            persona=persona, confidence="medium", sources=[story.source()],
            notes="House standard check from the template; not stated in the story's criteria.",
            standard=True))
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
                               [expected_bad]),
            preconditions=gen.base_preconditions(persona), test_data={**data, p.name: "(omitted)"},
            persona=persona, confidence="high" if error_400 else "medium", sources=[story.source()]))

"""Concrete test data for a REST request, from what the ticket says of each parameter.

Valid and invalid values by type and format (a UUID and a malformed one, a date and an impossible
one, an allowed value of an enumeration and one outside it), the request body from a JSON example
in the ticket or the object it names, the values a criterion's condition implies ("an invalid id
is supplied"), and the few words a request step uses to say what it varies.
"""

from __future__ import annotations

import json
import re
import uuid

from agent.generation.phrasing import clean
from agent.models import AcceptanceCriterion, Parameter, Story


def api_value(p: Parameter, *, valid: bool = True) -> str:
    seed = f"{p.name}"
    fmt = (p.format or "").lower()
    if not valid:
        if fmt == "uuid" or "uuid" in (p.pattern or ""):
            return "not-a-uuid"
        if p.name.lower().endswith("id"):
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
_DEFINITION = re.compile(r"\b(?:an? |the )?(?:JSON )?(array of )?[`*]?(\w+)[`*]? objects?\b", re.I)
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
    if _UUID_LIST.search(text):
        return json.dumps([str(uuid.uuid5(uuid.NAMESPACE_URL, f"casewright/{p.name}/{n}")) for n in (1, 2)])
    shape = body_shape(p)
    if shape:
        name, many = shape
        found = _DEFINITION_REF.search(text)
        ref = f" ({found.group(0)})" if found else ""
        return f"tester supplies: {shape_words(name, many)}{ref} with valid values"
    return "tester supplies: a JSON body with valid values for every required field"


_UUID_LIST = re.compile(r"array of (?:strings?|ids?)\b.*\buuid|array of uuids?", re.I)


def body_items(p: Parameter) -> str | None:
    """What a list body holds, in words ('CustomField objects', 'UUIDs'); None when the body is not
    a list or the ticket does not say of what."""
    if p.location != "body":
        return None
    shape = body_shape(p)
    if shape and shape[1]:
        return f"{shape[0]} objects"
    return "UUIDs" if _UUID_LIST.search(p.description or "") else None


def body_shape(p: Parameter) -> tuple[str, bool] | None:
    """(object name, whether the body is an array of them) when the body's description names its
    object ('A JSON array of `CustomField` objects' -> ('CustomField', True)); None otherwise."""
    if p.location != "body":
        return None
    m = _DEFINITION.search(p.description or "")
    if not m or m.group(2).lower() in {"json", "a", "an"}:
        return None
    return m.group(2), bool(m.group(1))


def shape_words(name: str, many: bool) -> str:
    """'a JSON array of CustomField objects' / 'an Account object'."""
    return f"a JSON array of {name} objects" if many else f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name} object"


def described(text: str) -> str:
    """A parameter's description as one clause inside an observation: its sentences joined by
    semicolons, a sentence-start capital lower-cased ('If true, includes ...' -> 'if true, includes ...')."""
    parts = [t.strip().rstrip(".") for t in re.split(r"(?<=[.!?])\s+(?=[A-Z])", clean(text)) if t.strip()]
    return "; ".join(t[0].lower() + t[1:] if t[1:2].islower() else t for t in parts)


MISSING = " (does not exist)"
OMITTED = "(omitted)"
MALFORMED_JSON = "{ malformed json"


def missing_value(name: str) -> str:
    """A well-formed id that names nothing: the same for a parameter on every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + name)) + MISSING


def change_of(story: Story, test_data: dict[str, str]) -> str:
    """What a request varies from a plain valid call, in the words of a When step: 'with audit=FULL',
    'without X-Killbill-CreatedBy', 'for an accountId that does not exist'. Required parameters at
    their valid values are not named; '' when nothing varies."""
    params = {p.name: p for p in story.parameters}
    parts: list[str] = []
    for name, value in test_data.items():
        p = params.get(name)
        if p is None:
            continue
        if p.required and value == api_value(p):
            continue
        if value == OMITTED:
            parts.append(f"without {'the body' if p.location == 'body' else name}")
        elif value.endswith(MISSING):
            parts.append(f"for {'an' if name[:1].lower() in 'aeiou' else 'a'} {name} that does not exist")
        elif value == MALFORMED_JSON:
            parts.append("with a malformed JSON body")
        elif p.location == "body":
            parts.append("with the body from the test data")
        else:
            parts.append(f"with {name}={value}" if value else f"with an empty {name}")
    return " and ".join(dict.fromkeys(parts))


_METHOD = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)"
_PURPOSE = re.compile(rf"\b{_METHOD}\s+\S*/\S*\s+[-\u2013\u2014:]\s+(?P<what>[A-Za-z][^.;\n]{{2,80}}?)\s*\.?$"
                      rf"|\[{_METHOD}\s+/[^\]\s]*\]\s*[-\u2013\u2014:]?\s*(?P<bracketed>[A-Za-z][^.;\n]{{2,80}}?)\s*\.?$")


def request_purpose(story: Story) -> str:
    """What a call does, from a summary like 'GET /accounts/{id}/tags - Retrieve account tags' or
    '[API][GET /accounts/{id}/tags] Retrieve account tags': 'retrieve account tags' ('' when the
    summary does not say)."""
    m = _PURPOSE.search(clean(story.summary or ""))
    if not m:
        return ""
    what = (m.group("what") or m.group("bracketed")).strip()
    first = what.split(" ", 1)[0]
    return (first.lower() if first[1:].islower() or len(first) == 1 else first) + what[len(first):]


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
                test_data[p.name] = missing_value(p.name)
            elif re.search(r"missing|without|not (?:provided|supplied)", cond):
                test_data[p.name] = OMITTED
    if "body" in cond and re.search(r"malformed|invalid", cond):
        test_data["body"] = MALFORMED_JSON
    if re.search(r"not found|does not exist", cond) and not any("does not exist" in v for v in test_data.values()):
        ids = [p for p in story.parameters if p.location == "path"]
        if ids:
            test_data[ids[0].name] = missing_value(ids[0].name)
    rendered = "; ".join(f"{k}={v}" for k, v in test_data.items())
    return f"{rendered} ({clean(condition).rstrip('.')})" if rendered else clean(condition)




_RESPONSE_TIME = re.compile(
    r"\b(?:respon\w*|answer\w*|return\w*|latency|complete\w*)\b[^.\n]{0,60}?"
    r"(?:within|under|below|in less than|less than|at most|no more than|<=?|\u2264)\s*"
    r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)\b", re.I)


def stated_response_time(story: Story) -> tuple[str, AcceptanceCriterion | None]:
    """The response time the ticket asks for ('responds within 500 ms', 'latency under 2 seconds')
    as ('500 ms' / '2 seconds', the criterion that states it, or None when only the description
    does); ('', None) when the ticket states none."""
    sources: list[tuple[str, AcceptanceCriterion | None]] = [(c.text, c) for c in story.criteria]
    for text, criterion in sources + [(story.description or "", None)]:
        m = _RESPONSE_TIME.search(text)
        if m:
            number, unit = m.group(1), m.group(2).lower()
            unit = "ms" if unit.startswith("m") else ("second" if number == "1" else "seconds")
            return f"{number} {unit}", criterion
    return "", None

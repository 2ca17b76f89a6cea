"""The answer schemas fitted to one story, for models with a small context window.

A small model under constrained decoding (the server turns the JSON schema into a grammar) tends
to repeat itself inside a string or an array until the token limit cuts the answer off: the
answer is then invalid, is repaired at the same cost, and the rules write the story anyway. For a
model whose window is at most SMALL_CONTEXT_TOKENS, casewright therefore sends a schema that
bounds every string and list (so the grammar closes them), names the story's own key and
criterion ids as the only allowed values, and leaves out `test_data` (free-form keys the grammar
cannot bound). The answer is still validated against the full UATCase model and the story.
Models with larger windows get the schemas of agent/llm/schemas.py unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from agent.llm.schemas import CASES_SCHEMA, PLAN_SCHEMA

SMALL_CONTEXT_TOKENS = 8192
CASES_PER_CRITERION = 2   # a positive case and a negative or boundary one
MAX_CASES = 12

# property -> longest value in characters (strings) or most items (lists) in a small model's answer
_CASE_TEXT = {"id": 24, "title": 120, "objective": 200, "persona": 60, "priority": 20, "notes": 200}
_STEP_TEXT = {"action": 160, "data": 60, "expected": 160}
_SOURCE_TEXT = {"id": 80, "title": 120}
_LISTS = {"preconditions": (3, 120), "labels": (3, 40)}
MAX_STEPS = 4
MAX_SOURCES = 3


def _bounded_text(prop: dict[str, Any], longest: int) -> dict[str, Any]:
    return {**prop, "type": "string", "maxLength": longest}


def fitted_cases_schema(story_key: str, criterion_ids: Sequence[str]) -> dict[str, Any]:
    """`{"cases": [UATCase]}` for one story: bounded, with only this story's key and criteria."""
    schema = copy.deepcopy(CASES_SCHEMA)
    defs = schema["$defs"]
    case = defs["UATCase"]["properties"]
    case.pop("test_data", None)
    for name, longest in _CASE_TEXT.items():
        case[name] = _bounded_text(case[name], longest)
    for name, (most, longest) in _LISTS.items():
        case[name] = {**case[name], "maxItems": most, "items": {"type": "string", "maxLength": longest}}
    case["steps"] = {**case["steps"], "maxItems": MAX_STEPS}
    case["sources"] = {**case["sources"], "maxItems": MAX_SOURCES}
    case["story_key"] = {"type": "string", "enum": [story_key], "title": "Story Key"}
    ids = list(dict.fromkeys(criterion_ids))
    if ids:
        case["criterion_ids"] = {"type": "array", "title": "Criterion Ids", "minItems": 1, "maxItems": len(ids),
                                 "items": {"type": "string", "enum": ids}}
        defs["UATCase"]["required"] = [*defs["UATCase"]["required"], "criterion_ids"]
    else:
        case["criterion_ids"] = {"type": "array", "title": "Criterion Ids", "maxItems": 0, "items": {"type": "string"}}
    step = defs["Step"]["properties"]
    for name, longest in _STEP_TEXT.items():
        step[name] = _bounded_text(step[name], longest)
    source = defs["SourceRef"]["properties"]
    for name, longest in _SOURCE_TEXT.items():
        source[name] = _bounded_text(source[name], longest)
    source.pop("url", None)
    most = min(MAX_CASES, max(1, CASES_PER_CRITERION * len(ids)))
    schema["properties"]["cases"] = {**schema["properties"]["cases"], "minItems": 1 if ids else 0, "maxItems": most}
    return schema


def fitted_plan_schema(story_keys: Sequence[str]) -> dict[str, Any]:
    """The plan schema with the epic's own story keys as the only allowed values."""
    schema = copy.deepcopy(PLAN_SCHEMA)
    keys = list(dict.fromkeys(story_keys))
    allowed = {"type": "string", "enum": keys} if keys else {"type": "string"}
    schema["properties"]["story_keys"] = {**schema["properties"]["story_keys"], "items": allowed,
                                          "maxItems": len(keys)}
    flow = schema["$defs"]["Flow"]["properties"]
    flow["story_keys"] = {**flow["story_keys"], "items": allowed, "maxItems": len(keys)}
    flow["name"] = _bounded_text(flow["name"], 120)
    flow["rationale"] = _bounded_text(flow["rationale"], 200)
    flow["links"] = {**flow["links"], "maxItems": max(0, len(keys) - 1)}
    link = schema["$defs"]["FlowLink"]
    for end in ("source", "target"):
        link["properties"][end] = {**link["properties"][end], **allowed}
    for name, longest in (("what", 80), ("statement", 240), ("source_criterion", 40), ("target_criterion", 40)):
        link["properties"][name] = _bounded_text(link["properties"][name], longest)
    schema["properties"]["flows"] = {**schema["properties"]["flows"], "maxItems": max(0, len(keys) - 1)}
    schema["properties"]["notes"] = _bounded_text(schema["properties"]["notes"], 200)
    return schema

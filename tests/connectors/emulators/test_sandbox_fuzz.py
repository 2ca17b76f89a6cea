"""Schemathesis against the sandbox's Jira emulator over HTTP, driven by Atlassian's published
OpenAPI document (REST v3, ../shared/specs) cut down to the operations the emulator implements and
rebased onto /rest/api/2, which the emulator serves (and the connectors use).

Generated requests (positive: every check, the answer must match the document; negative: never a
5xx) with the sandbox's credentials. Where Jira itself answers differently from its document (ADF
slots, time formats) the document is relaxed as `_as_jira_answers` says. Bounded by
`MAX_EXAMPLES` per operation and mode, derandomized, no example database."""

from __future__ import annotations

import json
from functools import lru_cache

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from support import SHARED
from support.sandbox import start_sandbox

SPEC = SHARED / "specs" / "jira-cloud-platform-v3.openapi.json"
MAX_EXAMPLES = 15

# what the emulator serves (connectors/emulators/atlassian/jira_routes.py), as the document names it
EMULATED = {
    "/serverInfo": ["get"], "/myself": ["get"], "/field": ["get"], "/issuetype": ["get"], "/project": ["get"],
    "/project/{projectIdOrKey}": ["get"], "/search": ["get", "post"],
    "/issue/{issueIdOrKey}": ["get"], "/issue/{issueIdOrKey}/comment": ["get"],
    "/issue/{issueIdOrKey}/comment/{id}": ["get"], "/issue/{issueIdOrKey}/transitions": ["get"],
    "/issueLinkType": ["get"], "/issueLinkType/{issueLinkTypeId}": ["get"], "/issueLink/{linkId}": ["get"],
    "/issue/{issueIdOrKey}/properties": ["get"], "/issue/{issueIdOrKey}/properties/{propertyKey}": ["get"],
    "/issue/{issueIdOrKey}/remotelink": ["get"],
}


KNOWN = {"issueIdOrKey": "ER-2", "projectIdOrKey": "ER"}
"""Path parameters that name things of the sandbox's sample project."""


def _as_jira_answers(node):  # noqa: ANN001, ANN202
    """Where Jira itself differs from its document, the emulator follows Jira (so does this check):
    v2 answers wiki-markup strings where v3 documents ADF objects (such slots accept anything),
    and times come as 2026-01-01T00:00:00.000+0000, which strict RFC 3339 `date-time` refuses
    (their format is dropped; they stay strings)."""
    if isinstance(node, dict):
        if "Atlassian Document Format" in str(node.get("description", "")):
            return {"description": node["description"]}
        return {k: _as_jira_answers(v) for k, v in node.items()
                if not (k == "format" and v == "date-time")}
    if isinstance(node, list):
        return [_as_jira_answers(v) for v in node]
    return node


@lru_cache(maxsize=1)
def emulated_document() -> dict:
    doc = json.loads(SPEC.read_text(encoding="utf-8"))
    paths = {}
    for path, methods in EMULATED.items():
        item = doc["paths"]["/rest/api/3" + path]
        paths["/rest/api/2" + path] = {k: v for k, v in item.items() if k in methods or k == "parameters"}
    # the document gives GET remotelink one object; Jira (and the `jira` client) have a list of them
    ok = paths["/rest/api/2/issue/{issueIdOrKey}/remotelink"]["get"]["responses"]["200"]["content"]["application/json"]
    ok["schema"] = {"type": "array", "items": ok["schema"]}
    return _as_jira_answers({**doc, "paths": paths, "servers": [{"url": "/"}]})


@pytest.fixture(scope="module")
def jira():
    server, creds = start_sandbox("datacenter")
    try:
        yield server, {"Authorization": f"Bearer {creds.pat}"}
    finally:
        server.stop()


def fuzz(server, headers, mode: GenerationMode) -> dict[str, int]:
    schema = schemathesis.openapi.from_dict(emulated_document())
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()

        known = {name: value for name, value in KNOWN.items() if "{" + name + "}" in op.path}
        strategy = op.as_strategy(generation_mode=mode)
        if known:  # half the time about issues that exist, so the answers are more than 404s
            strategy = strategy | op.as_strategy(generation_mode=mode, path_parameters=known)

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def one(case) -> None:  # noqa: ANN001
            response = case.call(base_url=server.url, headers=headers)
            if mode is GenerationMode.POSITIVE:
                # a JQL string or a field name can fit the document and still be refused (400, documented)
                case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
            else:
                assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
            calls[op.label] = calls.get(op.label, 0) + 1

        try:
            one()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE, op.label
    return calls


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_jira_emulator_answers_as_the_document_says(jira, mode):
    server, headers = jira
    calls = fuzz(server, headers, mode)
    print(f"\nschemathesis ({mode.value}) calls against the Jira emulator: {sum(calls.values())} {calls}")
    assert {"GET /rest/api/2/issue/{issueIdOrKey}", "GET /rest/api/2/search"} <= set(calls)
    assert server.requests, "the calls reached the emulator"


@pytest.mark.parametrize("query", [{"startAt": "false"}, {"maxResults": "1.5"}, {"startAt": "[]"}])
def test_a_search_with_a_number_that_is_not_one_is_jiras_400(jira, query):
    import requests

    server, headers = jira
    r = requests.get(f"{server.url}/rest/api/2/search", params={"jql": "project = ER", **query}, headers=headers)
    assert r.status_code == 400 and r.json()["errorMessages"], r.text
    r = requests.post(f"{server.url}/rest/api/2/search", json=[1], headers=headers)
    assert r.status_code == 400, r.text

"""Contract checks: the Xray, Zephyr Scale and TestRail emulators answer in the vendors' documented
shapes (tests/support/tool_shapes.py), and every GraphQL document the Xray connector sends is valid
against the schema the emulator serves (itself checked against Xray's documented signatures)."""

from __future__ import annotations

import pytest
import requests
from graphql import build_client_schema, get_introspection_query, parse, validate

from connectors.xray_cloud import DOCUMENTS
from connectors.zephyr import ZephyrScale
from support.tool_shapes import (
    TESTRAIL,
    XRAY_SIGNATURES,
    XRAY_TEST_TYPES,
    XRAY_TYPE_FIELDS,
    ZEPHYR,
    paged_testrail,
    problems,
    served_fields,
    served_signature,
)
from support.tools import API_TOKEN, EMAIL, FAST_RETRY, case, start_sandbox


@pytest.fixture(scope="module")
def sb():
    server, _ = start_sandbox("cloud")
    try:
        yield server
    finally:
        server.stop()


def xray_schema(sb):
    token = requests.post(f"{sb.xray_url}/api/v2/authenticate", json={"client_id": EMAIL, "client_secret": API_TOKEN},
                          timeout=10).json()
    got = requests.post(f"{sb.xray_url}/api/v2/graphql", headers={"Authorization": f"Bearer {token}"},
                        json={"query": get_introspection_query()}, timeout=10)
    return token, build_client_schema(got.json()["data"])


def test_xray_authenticate_answers_the_token_as_a_json_string(sb):
    resp = requests.post(f"{sb.xray_url}/api/v2/authenticate", json={"client_id": EMAIL, "client_secret": API_TOKEN},
                         timeout=10)
    assert resp.status_code == 200 and resp.text.startswith('"') and isinstance(resp.json(), str)


def test_xray_served_schema_has_the_documented_signatures_and_fields(sb):
    _, schema = xray_schema(sb)
    wrong = {name: served_signature(schema, name) for name, doc in XRAY_SIGNATURES.items()
             if served_signature(schema, name) != doc}
    assert not wrong, f"signatures that differ from Xray's documentation: {wrong}"
    missing = {t: sorted(fields - served_fields(schema, t)) for t, fields in XRAY_TYPE_FIELDS.items()
               if fields - served_fields(schema, t)}
    assert not missing, f"documented fields the emulator lacks: {missing}"


def test_every_document_the_xray_connector_sends_is_valid_against_the_served_schema(sb):
    _, schema = xray_schema(sb)
    errors = {name: [e.message for e in validate(schema, parse(doc))] for name, doc in DOCUMENTS.items()}
    assert not any(errors.values()), errors
    assert validate(schema, parse('{ getTests(limit: 1) { results { bogus } } }'))  # the check can fail


def test_xray_test_types_are_the_documented_ones(sb):
    token, _ = xray_schema(sb)
    for name in XRAY_TEST_TYPES:
        got = requests.post(f"{sb.xray_url}/api/v2/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                            json={"query": "mutation($j: JSON!, $t: UpdateTestTypeInput) { createTest(testType: $t, "
                                           "jira: $j) { test { testType { name kind } } } }",
                                  "variables": {"t": {"name": name}, "j": {"fields": {
                                      "summary": f"{name} type check", "project": {"key": "ER"}}}}})
        assert got.json()["data"]["createTest"]["test"]["testType"]["name"] == name


def test_the_signature_check_can_fail(sb):
    _, schema = xray_schema(sb)
    assert served_signature(schema, "Mutation.createTest") != XRAY_SIGNATURES["Mutation.createTest"].replace(
        "jira: JSON!", "jira: JSON")
    assert served_signature(schema, "Mutation.noSuchMutation") is None


def test_testrail_answers_in_the_documented_shapes(sb):
    from connectors.testrail import TestRailCases

    tr = TestRailCases(sb.testrail_url, EMAIL, API_TOKEN, project_id=1, retry=FAST_RETRY)
    cid = tr.create(case(), ["ER-1", "ER-2"])
    s = requests.Session()
    s.auth = (EMAIL, API_TOKEN)
    api = f"{sb.testrail_url}/index.php?/api/v2"

    def get(path: str) -> object:
        resp = s.get(f"{api}/{path}", timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    checks = [(TESTRAIL["case"], get(f"get_case/{cid}")), (TESTRAIL["project"], get("get_project/1"))]
    page = get("get_cases/1&suite_id=1")
    checks += [(paged_testrail("cases"), page)] + [(TESTRAIL["case"], c) for c in page["cases"]]
    sections = get("get_sections/1&suite_id=1")
    checks += [(paged_testrail("sections"), sections)] + [(TESTRAIL["section"], x) for x in sections["sections"]]
    for key, path in (("case_field", "get_case_fields"), ("priority", "get_priorities"),
                      ("case_type", "get_case_types"), ("template", "get_templates/1")):
        checks += [(TESTRAIL[key], item) for item in get(path)]
    bad = s.post(f"{api}/add_case/999999", json={"title": "x"}, timeout=10)
    checks.append((TESTRAIL["error"], bad.json()))
    assert bad.status_code == 400
    denied = requests.get(f"{api}/get_project/1", auth=(EMAIL, "wrong"), timeout=10)
    checks.append((TESTRAIL["error"], denied.json()))
    assert denied.status_code == 401
    found = [p for schema, instance in checks for p in problems(schema, instance)]
    assert not found, found
    assert problems(TESTRAIL["case"], dict(get(f"get_case/{cid}"), bogus=1))  # the check can fail


def test_zephyr_answers_in_the_documented_shapes(sb):
    z = ZephyrScale(sb.zephyr_url, API_TOKEN, project_key="ER", retry=FAST_RETRY)
    key = z.create(case(story_id=sb.state.issues["ER-2"]["id"]), folder="casewright/ER-1")
    h = {"Authorization": f"Bearer {API_TOKEN}"}
    base = sb.zephyr_url

    def get(path: str, **params: str) -> object:
        resp = requests.get(f"{base}/{path}", headers=h, params=params, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    checks = [(ZEPHYR["test_case"], get(f"testcases/{key}")), (ZEPHYR["project"], get("projects/ER"))]
    for path, item, params in (("testcases", "test_case", {"projectKey": "ER"}),
                               (f"testcases/{key}/teststeps", "test_step", {}),
                               ("priorities", "priority", {"projectKey": "ER"}),
                               ("statuses", "status", {"projectKey": "ER", "statusType": "TEST_CASE"}),
                               ("folders", "folder", {"projectKey": "ER", "folderType": "TEST_CASE"}),
                               ("projects", "project", {})):
        page = get(path, **params)
        checks += [(ZEPHYR["page"], page)] + [(ZEPHYR[item], v) for v in page["values"]]
    made = requests.post(f"{base}/testcases", headers=h, json={"projectKey": "ER", "name": "Shape check"}, timeout=10)
    checks.append((ZEPHYR["created_case"], made.json()))
    link = requests.post(f"{base}/testcases/{made.json()['key']}/links/issues", headers=h, timeout=10,
                         json={"issueId": int(sb.state.issues["ER-3"]["id"])})
    steps = requests.post(f"{base}/testcases/{made.json()['key']}/teststeps", headers=h, timeout=10,
                          json={"mode": "OVERWRITE", "items": [{"inline": {"description": "Do it"}}]})
    checks += [(ZEPHYR["created"], link.json()), (ZEPHYR["created"], steps.json())]
    assert (made.status_code, link.status_code, steps.status_code) == (201, 201, 201)
    bad = requests.post(f"{base}/testcases", headers=h, json={"projectKey": "ER"}, timeout=10)
    denied = requests.get(f"{base}/testcases/{key}", timeout=10)
    checks += [(ZEPHYR["error"], bad.json()), (ZEPHYR["error"], denied.json())]
    assert (bad.status_code, denied.status_code) == (400, 401)
    found = [p for schema, instance in checks for p in problems(schema, instance)]
    assert not found, found
    assert problems(ZEPHYR["test_case"], dict(get(f"testcases/{key}"), key="ER-1"))  # the check can fail

"""The Xray bulk-import JSON and the TestRail/Zephyr CSV casewright writes, checked against the same
documented shapes the emulators are (tests/support/tool_shapes.py), then imported into the
emulators through the tools' APIs: every test and case of a real run of the sample is accepted and
reads back as written."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
import requests

from agent.configuration import Configuration
from agent.runner import generate_epic
from connectors.workspace import SAMPLE_PATH
from support.tool_shapes import TESTRAIL, TESTRAIL_STEP, XRAY_STEP_KEYS, XRAY_TEST_TYPES, ZEPHYR, problems
from support.tools import API_TOKEN, EMAIL, start_sandbox


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tool-files")
    cfg = Configuration(source=str(SAMPLE_PATH), formats=["xray", "csv"], data_dir=str(tmp / "data"),
                        out_dir=str(tmp / "out"))
    generate_epic("ER-1", cfg)
    tests = json.loads((tmp / "out" / "ER-1.xray.json").read_text(encoding="utf-8"))
    with (tmp / "out" / "ER-1.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tests and rows
    return tests, rows


@pytest.fixture(scope="module")
def sb():
    server, _ = start_sandbox("cloud")
    try:
        yield server
    finally:
        server.stop()


def test_the_xray_json_has_the_documented_test_and_step_shapes(files):
    tests, _ = files
    for t in tests:
        assert t["testtype"] in XRAY_TEST_TYPES
        assert all(set(step) == XRAY_STEP_KEYS and str(step["action"]).strip() for step in t["steps"])
        assert "\n" not in t["fields"]["summary"] and len(t["fields"]["summary"]) <= 255
        for link in t["update"]["issuelinks"]:
            assert link["add"]["type"] == {"name": "Tests"} and link["add"]["outwardIssue"]["key"]


def test_every_xray_test_is_accepted_by_createTest_and_reads_back_as_written(files, sb):
    tests, _ = files
    token = requests.post(f"{sb.xray_url}/api/v2/authenticate", json={"client_id": EMAIL, "client_secret": API_TOKEN},
                          timeout=10).json()
    query = ("mutation($t: UpdateTestTypeInput, $s: [CreateStepInput], $j: JSON!) { createTest(testType: $t, "
             "steps: $s, jira: $j) { test { steps { action data result } jira(fields: [\"summary\", \"labels\"]) } } }")
    for t in tests:
        fields = {k: v for k, v in t["fields"].items() if k != "issuetype"}  # Xray sets the Test issue type
        got = requests.post(f"{sb.xray_url}/api/v2/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                            json={"query": query, "variables": {"t": {"name": t["testtype"]}, "s": t["steps"],
                                                                "j": {"fields": fields}}}).json()
        assert "errors" not in got, got["errors"]
        test = got["data"]["createTest"]["test"]
        assert test["steps"] == t["steps"] and test["jira"]["summary"] == t["fields"]["summary"]


def _cases(rows):
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["Test Case ID"]].append(row)
    return grouped


def test_every_csv_case_is_accepted_by_testrail_and_zephyr_with_the_columns_they_map(files, sb):
    _, rows = files
    s = requests.Session()
    s.auth = (EMAIL, API_TOKEN)
    api = f"{sb.testrail_url}/index.php?/api/v2"
    section = s.post(f"{api}/add_section/1", json={"name": "CSV import", "suite_id": 1}, timeout=10).json()["id"]
    zephyr = {"Authorization": f"Bearer {API_TOKEN}"}
    for case_id, steps in _cases(rows).items():
        first = steps[0]
        separated = [{"content": r["Step Action"], "expected": r["Expected Result"], "additional_info": r["Step Data"]}
                     for r in steps]
        assert not [p for step in separated for p in problems(TESTRAIL_STEP, step)]
        made = s.post(f"{api}/add_case/{section}", timeout=10, json={
            "title": first["Title"], "template_id": 2, "refs": first["Story"],
            "custom_preconds": first["Preconditions"], "custom_steps_separated": separated}).json()
        assert not problems(TESTRAIL["case"], made), (case_id, made)
        assert made["custom_steps_separated"] == separated and made["title"] == first["Title"]
        tc = requests.post(f"{sb.zephyr_url}/testcases", headers=zephyr, timeout=10, json={
            "projectKey": "ER", "name": first["Title"], "objective": first["Objective"],
            "precondition": first["Preconditions"]}).json()
        assert not problems(ZEPHYR["created_case"], tc), (case_id, tc)
        items = [{"inline": {"description": r["Step Action"], "testData": r["Step Data"],
                             "expectedResult": r["Expected Result"]}} for r in steps]
        put = requests.post(f"{sb.zephyr_url}/testcases/{tc['key']}/teststeps", headers=zephyr, timeout=10,
                            json={"mode": "OVERWRITE", "items": items})
        assert put.status_code == 201, put.text

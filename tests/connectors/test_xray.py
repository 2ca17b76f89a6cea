"""Xray Cloud (gql over httpx, against the sandbox's Xray emulator, with the Jira side through the
`jira` client) and Xray Server (Jira REST + /rest/raven/1.0 steps, against the datacenter sandbox)."""

from __future__ import annotations

import pytest

from connectors.errors import CasewrightError
from connectors.jira_writer import writer_for
from connectors.xray_cloud import XrayCloud
from connectors.xray_server import XrayServer
from support.tools import API_TOKEN, EMAIL, FAST_RETRY, PAT, case, no_sleep, start_sandbox, writes_of


@pytest.fixture()
def cloud():
    server, _ = start_sandbox("cloud")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def dc():
    server, _ = start_sandbox("datacenter")
    try:
        yield server
    finally:
        server.stop()


def xray(sb, secret: str = API_TOKEN) -> XrayCloud:
    jira = writer_for(sb.url, email=EMAIL, api_token=API_TOKEN, retry=FAST_RETRY)
    x = XrayCloud(sb.xray_url, EMAIL, secret, jira=jira, project_key="ER", retry=FAST_RETRY)
    x.sleep = jira.sleep = no_sleep()
    return x


def server_xray(sb) -> XrayServer:
    return XrayServer(writer_for(sb.url, pat=PAT, retry=FAST_RETRY), project_key="ER")


def graphql_ops(sb) -> list[str]:
    return [r.body["query"].split("(")[0].split()[-1] for r in sb.xray.requests if r.path.endswith("/graphql")]


def test_cloud_create_read_back_update_retire_and_find_from_a_fresh_client(cloud):
    x = xray(cloud)
    one = case(1)
    key = x.create(one, folder="/casewright/ER-1")
    issue = cloud.state.issues[key]
    assert issue["fields"]["issuetype"]["name"] == "Test" and issue["fields"]["labels"] == ["casewright", "payments"]
    record = cloud.xray.tests[issue["id"]]
    assert record["testType"]["name"] == "Manual" and record["folder"] == "/casewright/ER-1"
    assert [s["action"] for s in record["steps"]] == [s.action for s in one.steps]
    assert cloud.state.properties[issue["id"]]["casewright.case"] == one.identity  # set with the create
    got = x.read(key)
    assert got.content == x.native(one) and got.identity == one.identity and got.story_keys == ["ER-2"]
    assert any(link.get("inwardIssue", {}).get("key") == key for link in cloud.state.issues["ER-2"]["fields"]["issuelinks"])
    key2 = x.create(case(2, story_key="ER-3"))
    fresh = xray(cloud)
    assert [s.id for s in fresh.find(case_id="ER-3-TC-02")] == [key2]
    assert sorted(s.id for s in fresh.existing()) == sorted([key, key2])
    cloud.xray.requests.clear()
    changed = case(1, steps=2, title="Agent offers an extension of up to 21 days")
    changed.steps[0] = one.steps[0]  # step 1 unchanged, step 2 reworded, step 3 removed
    changed.steps[1] = type(one.steps[1])("A reworded second step", expected="Shown")
    fresh.update(key, changed)
    assert [op for op in graphql_ops(cloud) if op in ("UpdateTestStep", "AddTestStep", "RemoveTestStep")] == [
        "UpdateTestStep", "RemoveTestStep"]
    assert fresh.read(key).content == fresh.native(changed)
    fresh.update(key, case(1, steps=4))
    assert len(fresh.read(key).content["steps"]) == 4 and "AddTestStep" in graphql_ops(cloud)
    fresh.retire(key2)
    assert fresh.read(key2).retired and key2 in {s.id for s in xray(cloud).existing()}


def test_cloud_test_set_per_epic_is_found_again_not_duplicated(cloud):
    x = xray(cloud)
    keys = [x.create(case(n)) for n in (1, 2)]
    ids = [cloud.state.issues[k]["id"] for k in keys]
    set_id = x.ensure_test_set("ER-1")
    assert xray(cloud).ensure_test_set("ER-1") == set_id  # from a fresh client: found by its label
    assert sorted(x.add_to_test_set(set_id, ids)) == sorted(ids) and x.add_to_test_set(set_id, ids) == []
    assert cloud.xray.test_sets[set_id] == ids
    assert [i["fields"]["issuetype"]["name"] for i in cloud.state.issues.values()].count("Test Set") == 1


def test_cloud_token_expiry_is_refreshed_once(cloud):
    x = xray(cloud)
    before = x.read("ER-19")  # an approved Test of the sample
    cloud.xray.expire_tokens()
    assert x.read("ER-19").content == before.content
    auths = [r for r in cloud.xray.requests if r.path.endswith("/authenticate")]
    assert [r.status for r in auths] == [200, 200]
    assert [r.status for r in cloud.xray.requests if r.path.endswith("/graphql")].count(401) == 1


def test_cloud_wrong_credentials_are_one_clear_error_naming_the_settings(cloud):
    with pytest.raises(CasewrightError) as err:
        xray(cloud, secret="wrong").read("ER-19")
    msg = str(err.value)
    assert "Xray rejected the credentials (401)" in msg and "XRAY_CLIENT_ID + XRAY_CLIENT_SECRET" in msg
    assert "wrong" not in msg
    with pytest.raises(CasewrightError, match="XRAY_CLIENT_ID and XRAY_CLIENT_SECRET"):
        XrayCloud(cloud.xray_url, EMAIL, None, jira=None, project_key="ER")  # type: ignore[arg-type]


def test_cloud_429_503_and_a_lost_create_are_recovered_without_duplicates(cloud):
    x = xray(cloud)
    cloud.xray.faults.throttle_next, cloud.xray.faults.retry_after, cloud.xray.faults.unavailable_next = 1, 1, 1
    key = x.create(case(1))
    assert 1.0 in x.sleep.waits and x.read(key).identity == case(1).identity
    cloud.xray.faults.fail_write_at, cloud.xray.faults.apply_then_fail = 1, True
    cloud.xray.faults.writes_seen = 0
    key2 = x.create(case(2))
    tests = [i for i in cloud.state.issues.values() if "casewright" in i["fields"].get("labels", [])]
    assert sorted(i["key"] for i in tests) == sorted([key, key2])
    failed = [r for r in writes_of(cloud.xray.requests) if r.status == 500]
    assert len(failed) == 1


def test_server_create_read_back_update_retire_and_find(dc):
    x = server_xray(dc)
    one = case(1)
    key = x.create(one)
    issue = dc.state.issues[key]
    assert issue["fields"]["customfield_11100"] == {"value": "Manual"}
    assert "casewright-incomplete" not in issue["fields"]["labels"]
    puts = [r for r in dc.requests if r.path == f"/rest/raven/1.0/api/test/{key}/step" and r.method == "PUT"]
    assert [p.body["step"] for p in puts] == [s.action for s in one.steps]
    got = x.read(key)
    assert got.content == x.native(one) and got.identity == one.identity and got.complete
    fresh = server_xray(dc)
    assert [s.id for s in fresh.find(fingerprint=one.identity["fingerprint"])] == [key]
    fresh.update(key, case(1, steps=1))
    assert fresh.read(key).content == fresh.native(case(1, steps=1))
    assert any(r.method == "DELETE" and "/step/" in r.path for r in dc.requests)
    fresh.retire(key)
    assert fresh.read(key).retired


def test_server_an_interrupted_create_is_found_incomplete_and_update_finishes_it(dc):
    x = server_xray(dc)
    dc.faults.fail_write_at, dc.faults.fail_writes_after = 3, True  # the issue, one step, then Jira is gone
    with pytest.raises(CasewrightError):
        x.create(case(1))
    dc.faults.clear()
    found = server_xray(dc).find(case_id="ER-2-TC-01")
    assert len(found) == 1 and not found[0].complete and len(found[0].content["steps"]) == 1
    server_xray(dc).update(found[0].id, case(1))
    done = server_xray(dc).read(found[0].id)
    assert done.complete and done.content == x.native(case(1)) and done.story_keys == ["ER-2"]

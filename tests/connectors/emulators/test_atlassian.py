"""The Jira/Confluence emulator, driven by the real `jira` and `atlassian-python-api` clients."""

from __future__ import annotations

import json
import time

import pytest
import requests
from atlassian import Confluence
from jira import JIRA, JIRAError

from connectors.emulators.atlassian.jql import JqlError, compile_jql, sort_issues
from support.sandbox import API_TOKEN, EMAIL, PAT


def client(sb, **extra) -> JIRA:
    c = sb.creds
    auth = {"token_auth": c.pat} if c.pat else {"basic_auth": (c.email, c.api_token)}
    return JIRA(sb.url, max_retries=0, **auth, **extra)


def test_server_info_and_search_follow_the_mode(sandbox):
    j = client(sandbox)
    assert j._is_cloud is (sandbox.mode == "cloud")
    keys = [i.key for i in j.search_issues("parent = ER-1 ORDER BY key ASC", maxResults=False)]
    assert keys == ["ER-2", "ER-3", "ER-4", "ER-5", "ER-6", "ER-7"]
    searches = [r for r in sandbox.requests if "/search" in r.path]
    if sandbox.mode == "cloud":
        assert {r.path for r in searches} == {"/rest/api/2/search/jql"}
        assert any("nextPageToken" in r.query for r in searches)  # page size 4: a second page was fetched
        assert requests.get(sandbox.url + "/rest/api/2/search", params={"jql": "project = ER"},
                            auth=(EMAIL, API_TOKEN)).status_code == 410
    else:
        assert {r.path for r in searches} == {"/rest/api/2/search"}
        assert [r.query.get("startAt", "0") for r in searches] == ["0", "4"]
        assert requests.get(sandbox.url + "/rest/api/2/search/jql", params={"jql": "project = ER"},
                            headers={"Authorization": f"Bearer {PAT}"}).status_code == 404


def test_created_issues_get_real_keys_and_appear_in_later_searches(sandbox):
    j = client(sandbox)
    a = j.create_issue(fields={"project": {"key": "ER"}, "issuetype": {"name": "Test"}, "summary": "First",
                               "labels": ["casewright"]})
    b = j.create_issue(fields={"project": {"key": "ER"}, "issuetype": {"name": "Sub-task"}, "summary": "Second",
                               "parent": {"key": "ER-2"}})
    assert (a.key, b.key) == ("ER-41", "ER-42")
    assert [i.key for i in j.search_issues("labels = casewright", maxResults=False)] == ["ER-41"]
    assert [i.key for i in j.search_issues('parent = ER-2 AND issuetype = "Sub-task"', maxResults=False)] == ["ER-42"]
    j.create_issue_link("Tests", a.key, "ER-2")
    links = j.issue("ER-2").fields.issuelinks
    assert any(getattr(link, "inwardIssue", None) and link.inwardIssue.key == a.key for link in links)
    assert any(link.outwardIssue.key == "ER-2" for link in j.issue(a.key).fields.issuelinks)
    with pytest.raises(JIRAError) as err:
        j.create_issue(fields={"project": {"key": "ER"}, "issuetype": {"name": "Test"}, "summary": ""})
    assert err.value.status_code == 400 and "summary" in err.value.response.json()["errors"]


def test_properties_comments_and_updates(sandbox):
    j = client(sandbox)
    j.add_issue_property("ER-2", "casewright.case", {"case_id": "C-1", "n": 1})
    assert j.issue_property("ER-2", "casewright.case").raw["value"] == {"case_id": "C-1", "n": 1}
    assert [p.key for p in j.issue_properties("ER-2")] == ["casewright.case"]
    raw = j._get_json("search/jql" if sandbox.mode == "cloud" else "search",
                      params={"jql": "key = ER-2", "properties": "casewright.case", "fields": "summary"})
    assert raw["issues"][0]["properties"]["casewright.case"]["case_id"] == "C-1"
    comment = j.add_comment("ER-2", "h3. Hello")
    comment.update(body="h3. Hello again")
    assert [c.body for c in j.comments("ER-2")][-1] == "h3. Hello again"
    issue = j.issue("ER-2")
    issue.update(fields={"summary": "Renamed"}, labels=[{"add": "extra"}])
    again = j.issue("ER-2")
    assert again.fields.summary == "Renamed" and "extra" in again.fields.labels
    j._session.delete(j._get_url("issue/ER-2/properties/casewright.case"))
    assert j.issue_properties("ER-2") == []


def test_workflow_transitions_with_the_clients_own_calls(sandbox):
    j = client(sandbox)
    sandbox.state.workflow.add_status("Obsolete", "done")
    key = j.create_issue(fields={"project": {"key": "ER"}, "issuetype": {"name": "Test"}, "summary": "T"}).key
    names = {t["to"]["name"]: t["id"] for t in j.transitions(key)}
    # every status but its own, the seeded issues' statuses included
    seeded = {i["fields"]["status"]["name"] for i in sandbox.state.issues.values()}
    assert {"Ready for UAT", "In Progress"} <= seeded
    assert set(names) == (seeded | {"Done", "Obsolete"}) - {"To Do"}
    j.transition_issue(key, names["Obsolete"])
    assert j.issue(key).fields.status.name == "Obsolete"
    assert j.issue(key).fields.status.statusCategory.key == "done"
    assert [i.key for i in j.search_issues('status = "Obsolete"', maxResults=False)] == [key]
    assert "Obsolete" not in {t["to"]["name"] for t in j.transitions(key)}
    with pytest.raises(JIRAError) as err:
        j.transition_issue(key, "999")
    assert err.value.status_code == 400 and "not valid" in err.value.response.json()["errorMessages"][0]
    with pytest.raises(JIRAError) as err:
        j._session.post(j._get_url(f"issue/{key}/transitions"), data=json.dumps(["not", "an", "object"]))
    assert err.value.status_code == 400


def test_jql_subset_and_errors(sandbox):
    j = client(sandbox)
    assert len(j.search_issues('project = ER AND issuetype = Epic', maxResults=False)) == 3
    got = j.search_issues('(parent = ER-1 OR parent = ER-8) AND labels in (payments) ORDER BY key DESC', maxResults=False)
    assert [i.key for i in got] == sorted([i.key for i in got], key=lambda k: -int(k.split("-")[1])) and got
    assert j.search_issues('key in (ER-2, ER-3) AND status != Done AND updated >= "2020-01-01"', maxResults=False)
    for bad in ('summary ~ "payment"', "assignee = currentUser()", "project = ER ORDER BY votes", "nosuchfield = 1"):
        with pytest.raises(JIRAError) as err:
            j.search_issues(bad, maxResults=False)
        body = err.value.response.json()
        assert err.value.status_code == 400 and body["errorMessages"] and body["errors"] == {}


def test_jql_parser_directly():
    fields = [{"id": "customfield_10014", "name": "Epic Link", "clauseNames": ["cf[10014]", "Epic Link"]}]
    issues = [{"key": "A-2", "fields": {"customfield_10014": "A-1", "labels": ["x"], "updated": "2026-10-01T10:00:00.000+0000"}},
              {"key": "A-10", "fields": {"customfield_10014": "A-1", "labels": [], "updated": "2026-01-01T10:00:00.000+0000"}},
              {"key": "A-3", "fields": {"labels": ["x"], "updated": "2026-10-01T10:00:00.000+0000"}}]
    q = compile_jql('"Epic Link" = A-1 ORDER BY key', fields, {})
    assert [i["key"] for i in sort_issues([i for i in issues if q.predicate(i)], q.order_by)] == ["A-2", "A-10"]
    q = compile_jql('cf[10014] = A-1 AND NOT labels = x', fields, {})
    assert [i["key"] for i in issues if q.predicate(i)] == ["A-10"]
    q = compile_jql('updated >= "2026-06-01" AND labels is not EMPTY', fields, {})
    assert [i["key"] for i in issues if q.predicate(i)] == ["A-2", "A-3"]
    for bad in ("labels = ", "(labels = x", "labels in x", "labels = x AND", "text ~ x"):
        with pytest.raises(JqlError):
            compile_jql(bad, fields, {})


def test_wrong_credentials_get_401(sandbox):
    for auth in ({"basic_auth": (EMAIL, "wrong")}, {"token_auth": "not-the-pat"}, {}):
        j = JIRA(sandbox.url, max_retries=0, get_server_info=False, **auth)
        with pytest.raises(JIRAError) as err:
            j.myself()
        assert err.value.status_code == 401
    conf = Confluence(sandbox.url, username=EMAIL, password="wrong")
    with pytest.raises(Exception) as err:
        conf.get_page_by_id("200001")
    assert "401" in str(err.value) or "authenticated" in str(err.value).lower()


def test_faults_429_503_latency_and_nth_write(sandbox):
    s = requests.Session()
    s.auth = (EMAIL, API_TOKEN)
    s.headers["Authorization"] = f"Bearer {PAT}" if sandbox.mode == "datacenter" else s.headers.get("Authorization", "")
    if sandbox.mode == "datacenter":
        s.auth = None
    url = sandbox.url + "/rest/api/2/myself"
    sandbox.faults.throttle_next, sandbox.faults.retry_after = 1, 7
    r = s.get(url)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    sandbox.faults.unavailable_next = 1
    assert s.get(url).status_code == 503
    assert s.get(url).status_code == 200
    sandbox.faults.latency_s = 0.3
    t0 = time.perf_counter()
    s.get(url)
    assert time.perf_counter() - t0 >= 0.3
    sandbox.faults.clear()
    sandbox.faults.fail_write_at = 2
    body = json.dumps({"fields": {"project": {"key": "ER"}, "issuetype": {"name": "Test"}, "summary": "x"}})
    s.headers["Content-Type"] = "application/json"
    statuses = [s.post(sandbox.url + "/rest/api/2/issue", data=body).status_code for _ in range(3)]
    assert statuses == [201, 500, 201]
    assert [r.status for r in sandbox.writes()] == [201, 500, 201]
    assert all(r.auth in ("basic", "bearer") for r in sandbox.requests)


def test_confluence_cql_children_and_storage(sandbox):
    c = sandbox.creds
    conf = Confluence(sandbox.url, token=c.pat) if c.pat else Confluence(sandbox.url, username=c.email, password=c.api_token)
    res = conf.cql('space = ER AND label = "payment-extension" AND type = page', expand="content.body.storage")
    titles = [r["content"]["title"] for r in res["results"]]
    assert "Payment Extension Rules" in titles and "<" in res["results"][0]["content"]["body"]["storage"]["value"]
    assert conf.cql('title ~ "extension"')["totalSize"] >= 1
    kids = list(conf.get_page_child_by_type("200000", type="page"))
    assert len(kids) >= 6 and all(k["id"] != "200000" for k in kids)
    # the page size is 4: cql_all follows _links.next to the end
    assert {r["content"]["id"] for r in conf.cql_all("ancestor = 200000")} == {k["id"] for k in kids}
    with pytest.raises(Exception):
        conf.cql("creator = currentUser()")
    bad = [r for r in sandbox.requests if r.path == "/rest/api/search" and r.status == 400]
    assert bad, "unsupported CQL is answered 400"


def test_without_credentials_the_emulator_runs_without_authentication_and_with_them_it_checks():
    from connectors.emulators.atlassian import SandboxServer
    from connectors.workspace import SAMPLE_PATH

    with SandboxServer(SAMPLE_PATH, mode="cloud") as open_sb:
        url = f"{open_sb.url}/rest/api/2/issue/ER-1"
        assert requests.get(url, timeout=10).status_code == 200
        assert requests.get(url, auth=("anyone", "anything"), timeout=10).status_code == 200
    with SandboxServer(SAMPLE_PATH, mode="cloud", email=EMAIL, api_token=API_TOKEN) as closed:
        url = f"{closed.url}/rest/api/2/issue/ER-1"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=(EMAIL, API_TOKEN), timeout=10).status_code == 200

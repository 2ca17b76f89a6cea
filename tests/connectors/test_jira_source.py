"""Reading an epic from Jira with the real `jira` client against the emulator, in both modes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from agent.intake.epic import load_epic
from connectors.errors import CasewrightError
from connectors.jira_source import JiraSource
from connectors.workspace import SAMPLE_PATH, load_workspace
from support.sandbox import FAST_RETRY, datacenter_doc, sample_doc, source_for, start_sandbox


def _comparable(bundle):
    stories = [s.model_dump(exclude={"url"}) for s in bundle.stories]
    for s in stories:
        for case in s["approved_cases"]:
            for src in case["sources"]:
                src.pop("url", None)
    pages = [p.model_dump(exclude={"url"}) for p in bundle.pages]
    return bundle.epic.model_dump(exclude={"url"}), stories, pages


def test_live_epic_parses_exactly_like_the_workspace_file(sandbox):
    ws = source_for(sandbox, sandbox.creds).workspace_for_epic("ER-1")
    live, seed = load_epic(ws, "ER-1"), load_epic(load_workspace(SAMPLE_PATH), "ER-1")
    assert [s.key for s in live.stories] == ["ER-2", "ER-3", "ER-4", "ER-5", "ER-6", "ER-7"]
    assert _comparable(live) == _comparable(seed)
    assert sum(len(s.criteria) for s in live.stories) > 20
    assert sum(len(s.approved_cases) for s in live.stories) > 0  # linked Test issues came along
    assert live.pages, "pages the epic/stories link to were fetched from Confluence"
    # paging was followed: page size 4, six stories
    searches = [r for r in sandbox.requests if r.path.startswith("/rest/api/2/search")]
    assert len(searches) >= 2
    assert ws.remote_links and ws.fields and ws.issue_link_types
    expected_jql = "parent" if sandbox.mode == "cloud" else "Epic Link"
    assert any(expected_jql in str(r.query.get("jql", "")) for r in searches)


def test_custom_fields_resolve_by_name_through_the_field_list(tmp_path):
    doc = sample_doc()
    for f in doc["fields"]:  # the team's Jira calls the AC field something else, under another id
        if f["name"] == "Acceptance Criteria":
            f.update(id="customfield_31337", key="customfield_31337", name="UAT Acceptance",
                     clauseNames=["cf[31337]", "UAT Acceptance"])
    for issue in doc["issues"]:
        if "customfield_10100" in issue["fields"]:
            issue["fields"]["customfield_31337"] = issue["fields"].pop("customfield_10100")
    server, creds = start_sandbox("datacenter", seed=doc)
    try:
        ws = source_for(server, creds).workspace_for_epic("ER-1")
        assert ws.field_id("UAT Acceptance") == "customfield_31337"
        renamed = load_epic(ws, "ER-1", ac_field_name="UAT Acceptance")
        seed = load_epic(load_workspace(SAMPLE_PATH), "ER-1")
        assert [[c.text for c in s.criteria] for s in renamed.stories] == [[c.text for c in s.criteria] for s in seed.stories]
    finally:
        server.stop()


def test_data_center_epic_link_field(tmp_path):
    doc = datacenter_doc()
    server, creds = start_sandbox("datacenter", seed=doc)
    try:
        src = source_for(server, creds)
        ws = src.workspace_for_epic("ER-8")
        assert [s.key for s in load_epic(ws, "ER-8").stories] == ["ER-9", "ER-10", "ER-11", "ER-12", "ER-13"]
        assert any('"Epic Link" = "ER-8"' in str(r.query.get("jql")) for r in server.requests)
        with pytest.raises(CasewrightError, match="CASEWRIGHT_EPIC_LINK"):
            source_for(server, creds, epic_link_mode="sideways")
    finally:
        server.stop()


def test_reading_recovers_from_429_and_503(sandbox):
    sandbox.faults.throttle_next, sandbox.faults.retry_after = 1, 1
    sandbox.faults.unavailable_next = 2
    t0 = time.perf_counter()
    ws = source_for(sandbox, sandbox.creds).workspace_for_epic("ER-14")
    assert time.perf_counter() - t0 >= 1.0  # Retry-After: 1 was honoured
    assert [r.status for r in sandbox.requests[:4]] == [429, 503, 503, 200]
    assert len(load_epic(ws, "ER-14").stories) == 4


def test_wrong_token_names_the_setting_to_fix(sandbox):
    bad = {"pat": "nope"} if sandbox.creds.pat else {"email": sandbox.creds.email, "api_token": "nope"}
    src = JiraSource(sandbox.url, retry=FAST_RETRY, **bad)
    with pytest.raises(CasewrightError) as err:
        src.workspace_for_epic("ER-1")
    msg = str(err.value)
    assert "Jira rejected the credentials (401)" in msg and "JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT" in msg
    assert "nope" not in msg
    assert len(sandbox.requests) == 1  # auth failures are not retried


def test_unknown_epic_is_one_clear_error(sandbox):
    with pytest.raises(CasewrightError, match="epic ER-999 was not found"):
        source_for(sandbox, sandbox.creds).workspace_for_epic("ER-999")


def test_cli_export_and_generate_with_jira(tmp_path):
    server, creds = start_sandbox("cloud")
    env = {**os.environ, "JIRA_URL": server.url, "JIRA_EMAIL": creds.email, "JIRA_API_TOKEN": creds.api_token,
           "CONFLUENCE_URL": server.url, "CONFLUENCE_EMAIL": creds.email, "CONFLUENCE_API_TOKEN": creds.api_token,
           "CASEWRIGHT_DATA_DIR": str(tmp_path / "data")}
    cli = [sys.executable, "-c", "from casewright.cli import main; main()"]
    try:
        out = tmp_path / "er1.json"
        r = subprocess.run(cli + ["export", "ER-1", "--out", str(out)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert [s.key for s in load_epic(load_workspace(out), "ER-1").stories][0] == "ER-2"
        r = subprocess.run(cli + ["generate", "ER-1", "--jira", "--write-back", "issues", "--out", str(tmp_path / "out"),
                                  "--format", "md"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr + r.stdout
        created = [w for w in server.writes() if w.method == "POST" and w.path == "/rest/api/2/issue"]
        assert created and all(w.status == 201 for w in created)
        summary = [w for w in server.writes() if w.path == "/rest/api/2/issue/ER-1/comment"]
        # the summary names the run's cases but never a path on the machine that wrote them
        assert len(summary) == 1 and "casewright:summary ER-1" in summary[0].body["body"]
        assert str(tmp_path) not in summary[0].body["body"] and "ER-1.md" not in summary[0].body["body"]
        bad = {**env, "JIRA_API_TOKEN": "wrong"}
        r = subprocess.run(cli + ["export", "ER-1", "--out", str(out)], env=bad, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "JIRA_EMAIL + JIRA_API_TOKEN" in r.stderr and "Traceback" not in r.stderr
    finally:
        server.stop()

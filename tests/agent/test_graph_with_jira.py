"""The whole graph with `source = jira` and a write-back mode: plan -> ... -> write_back -> report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.configuration import Configuration
from agent.context import Services
from agent.runner import generate_epic
from connectors.jira_access import JiraAccess
from support.sandbox import FAST_RETRY


@pytest.fixture
def live_jira(sandbox):
    c = sandbox.creds
    sandbox.services = Services(jira=JiraAccess(
        url=sandbox.url, email=c.email, api_token=c.api_token, pat=c.pat, confluence_url=sandbox.url,
        confluence_email=c.email, confluence_api_token=c.api_token, confluence_pat=c.pat, retry=FAST_RETRY))
    return sandbox


def run(tmp_path, services=None, **over):
    options = {"formats": ["md"], "data_dir": str(tmp_path / "data"), "out_dir": str(tmp_path / "out"), **over}
    cfg = Configuration(source="jira", **options)
    return generate_epic("ER-8", cfg, services)


def test_generate_from_jira_writes_back_and_reports(live_jira, tmp_path):
    dry = run(tmp_path, live_jira.services, write_back="issues", dry_run=True)
    wb = dry.summary["write_back"]
    assert wb["dry_run"] and wb["counts"]["create"] == dry.summary["cases"] > 0 and wb["writes"] == 0
    assert live_jira.writes() == []
    done = run(tmp_path, live_jira.services, write_back="issues")
    assert done.summary["write_back"]["counts"]["create"] == done.summary["cases"]
    report = tmp_path / "out" / "ER-8.md"
    assert str(report) in done.report_paths
    epic = live_jira.state.issues["ER-8"]
    [summary] = [c for c in live_jira.state.comments[epic["id"]] if "[casewright:summary ER-8]" in c["body"]]
    assert "Report:" not in summary["body"]
    again = run(tmp_path, live_jira.services, write_back="issues")
    assert again.summary["write_back"]["counts"]["unchanged"] == again.summary["cases"]
    assert again.summary["write_back"]["writes"] == 0


def test_a_rerun_with_another_out_dir_changes_nothing_in_jira_and_no_local_path_goes_there(live_jira, tmp_path):
    first = run(tmp_path, live_jira.services, write_back="issues", out_dir=str(tmp_path / "out-a"), formats=["md", "json"])
    assert first.summary["write_back"]["counts"]["create"] == first.summary["cases"] > 0
    epic = live_jira.state.issues["ER-8"]
    [summary] = [c for c in live_jira.state.comments[epic["id"]] if "[casewright:summary ER-8]" in c["body"]]
    body = summary["body"]
    live_jira.reset_log()
    again = run(tmp_path, live_jira.services, write_back="issues", out_dir=str(tmp_path / "elsewhere" / "out-b"),
                formats=["md", "csv"])
    assert again.summary["write_back"]["summary"]["action"] == "unchanged"
    assert again.summary["write_back"]["writes"] == 0 and live_jira.writes() == []
    assert summary["body"] == body
    # nothing casewright ever sent to Jira names a local path: not the output, data or temporary folders
    sent = json.dumps([r.body for r in live_jira.state.requests if r.is_write] +
                      [c["body"] for cs in live_jira.state.comments.values() for c in cs] +
                      [i["fields"].get("description") for i in live_jira.state.issues.values()] +
                      list(live_jira.state.properties.values()))
    for path in (str(tmp_path), str(Path(tmp_path).resolve()), "out-a", "out-b", os.getcwd()):
        assert path not in sent


def test_write_back_none_touches_nothing(live_jira, tmp_path):
    result = run(tmp_path, live_jira.services, write_back="none")
    assert "write_back" not in result.summary and live_jira.writes() == []

"""The whole graph with `source = jira` and a write-back mode: plan -> ... -> write_back -> report."""

from __future__ import annotations

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
    cfg = Configuration(source="jira", formats=["md"], data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        **over)
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
    assert f"Report: {report}" in summary["body"]
    again = run(tmp_path, live_jira.services, write_back="issues")
    assert again.summary["write_back"]["counts"]["unchanged"] == again.summary["cases"]
    assert again.summary["write_back"]["writes"] == 0


def test_write_back_none_touches_nothing(live_jira, tmp_path):
    result = run(tmp_path, live_jira.services, write_back="none")
    assert "write_back" not in result.summary and live_jira.writes() == []

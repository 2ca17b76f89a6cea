"""CaseTargets builds each tool's connector from the settings; secrets stay out of reprs, logs and
errors; an unreachable tool is one clear error."""

from __future__ import annotations

import logging
import socket

import pytest

from connectors.case_targets import CaseTargets
from connectors.errors import CasewrightError
from connectors.jira_writer import writer_for
from connectors.settings import load_settings
from connectors.testrail import TestRailCases
from connectors.xray_cloud import XrayCloud
from connectors.xray_server import XrayServer
from connectors.zephyr import ZephyrScale
from support.tools import API_TOKEN, EMAIL, FAST_RETRY, PAT, case, start_sandbox


def test_from_settings_makes_each_connector_and_picks_xray_by_the_jira_deployment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    server, _ = start_sandbox("cloud")
    dc, _ = start_sandbox("datacenter")
    try:
        for name, value in {"XRAY_URL": server.xray_url, "XRAY_CLIENT_ID": EMAIL, "XRAY_CLIENT_SECRET": API_TOKEN,
                            "ZEPHYR_URL": server.zephyr_url, "ZEPHYR_API_TOKEN": API_TOKEN,
                            "TESTRAIL_URL": server.testrail_url, "TESTRAIL_EMAIL": EMAIL,
                            "TESTRAIL_API_KEY": API_TOKEN, "TESTRAIL_PROJECT_ID": "1",
                            "XRAY_FOLDER": "/casewright/{epic}"}.items():
            monkeypatch.setenv(name, value)
        targets = CaseTargets.from_settings(load_settings())
        assert API_TOKEN not in repr(targets)
        xray = targets.xray(writer_for(server.url, email=EMAIL, api_token=API_TOKEN), "ER")
        assert isinstance(xray, XrayCloud) and targets.xray_folder_for("ER-1") == "/casewright/ER-1"
        assert isinstance(targets.xray(writer_for(dc.url, pat=PAT), "ER"), XrayServer)
        assert isinstance(targets.zephyr("ER"), ZephyrScale) and isinstance(targets.testrail(), TestRailCases)
        assert targets.zephyr("ER").project()["key"] == "ER" and targets.testrail().suite_id() == 1
        for connector in (xray, targets.zephyr("ER"), targets.testrail()):
            assert API_TOKEN not in repr(connector)
    finally:
        server.stop()
        dc.stop()


def test_secrets_never_reach_the_logs_or_the_errors(caplog):
    server, _ = start_sandbox("cloud")
    caplog.set_level(logging.DEBUG)
    try:
        jira = writer_for(server.url, email=EMAIL, api_token=API_TOKEN, retry=FAST_RETRY)
        XrayCloud(server.xray_url, EMAIL, API_TOKEN, jira=jira, project_key="ER", retry=FAST_RETRY).create(case(1))
        ZephyrScale(server.zephyr_url, API_TOKEN, project_key="ER", retry=FAST_RETRY).create(case(2))
        TestRailCases(server.testrail_url, EMAIL, API_TOKEN, project_id=1, retry=FAST_RETRY).create(case(3), ["ER-1"])
        errors = []
        for make in (lambda: XrayCloud(server.xray_url, EMAIL, API_TOKEN + "x", jira=jira, project_key="ER",
                                       retry=FAST_RETRY).read("ER-19"),
                     lambda: ZephyrScale(server.zephyr_url, API_TOKEN + "x", project_key="ER").existing(),
                     lambda: TestRailCases(server.testrail_url, EMAIL, API_TOKEN + "x", project_id=1).existing()):
            with pytest.raises(CasewrightError) as err:
                make()
            errors.append(str(err.value))
        tokens = [t for t in server.xray.tokens]
    finally:
        server.stop()
    logged = caplog.text + "\n".join(errors)
    assert caplog.records and API_TOKEN not in logged
    assert not any(t in logged for t in tokens)  # Xray's bearer tokens neither


def test_an_unreachable_tool_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    z = ZephyrScale(f"http://127.0.0.1:{port}/zephyr/v2", "t", project_key="ER", retry=FAST_RETRY)
    z.sleep = lambda seconds: None
    with pytest.raises(CasewrightError, match=r"Zephyr Scale at .* could not be reached .*check the URL"):
        z.existing()
    t = TestRailCases(f"http://127.0.0.1:{port}/testrail", EMAIL, "k", project_id=1, retry=FAST_RETRY)
    t.sleep = lambda seconds: None
    with pytest.raises(CasewrightError, match=r"TestRail at .* could not be reached"):
        t.existing()

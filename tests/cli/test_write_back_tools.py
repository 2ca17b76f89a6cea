"""`casewright generate --write-back xray | zephyr | testrail` end to end, as a user runs it: a
`casewright sandbox` process, the settings it prints, then generate (first write), generate again
(nothing written), in subprocesses; and the settings each target needs, checked before generating."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connectors.workspace import SAMPLE_PATH
from support import ROOT

EMAIL, TOKEN, PAT = "qa.lead@example.com", "demo-token", "demo-pat"
CLEAN = ("JIRA_", "CONFLUENCE_", "XRAY_", "ZEPHYR_", "TESTRAIL_", "CASEWRIGHT_")


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(CLEAN)} | {
        "PYTHONPATH": str(ROOT), "COLUMNS": "250", "NO_COLOR": "1"}


def start_sandbox(mode: str) -> tuple[subprocess.Popen, dict[str, str]]:
    args = ["--mode", mode, "--email", EMAIL, "--token", TOKEN] + (["--pat", PAT] if mode == "datacenter" else [])
    proc = subprocess.Popen([sys.executable, "-m", "casewright", "sandbox", "--seed", str(SAMPLE_PATH), "--port", "0",
                             *args], cwd=ROOT, env=_base_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    printed: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while "TESTRAIL_PROJECT_ID" not in printed and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        printed.update(re.findall(r"\b([A-Z_]+)=(\S+)", line))
    assert "TESTRAIL_PROJECT_ID" in printed, f"sandbox did not print its settings: {printed}"
    while time.monotonic() < deadline:   # printed before uvicorn binds: wait for it
        try:
            requests.get(printed["JIRA_URL"] + "/rest/api/2/serverInfo", timeout=2)
            return proc, printed
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("sandbox did not start")


def settings_for(printed: dict[str, str], mode: str) -> dict[str, str]:
    """The environment a user sets from what `casewright sandbox` printed, with its demo credential."""
    env = {k: printed[k] for k in ("JIRA_URL", "JIRA_DEPLOYMENT", "XRAY_URL", "ZEPHYR_URL", "TESTRAIL_URL",
                                   "TESTRAIL_PROJECT_ID")}
    creds = {"JIRA_PAT": PAT} if mode == "datacenter" else {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}
    return env | creds | {"XRAY_CLIENT_ID": EMAIL, "XRAY_CLIENT_SECRET": TOKEN, "ZEPHYR_API_TOKEN": TOKEN,
                          "TESTRAIL_EMAIL": EMAIL, "TESTRAIL_API_KEY": TOKEN}


def generate(tmp_path: Path, env: dict[str, str], target: str, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--source", str(SAMPLE_PATH),
                           "--format", "json", "--out", str(tmp_path / "out"), "--write-back", target, *more],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env=_base_env() | {"CASEWRIGHT_DATA_DIR": str(tmp_path / "data")} | env)


def summary_line(result: subprocess.CompletedProcess, target: str) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return next(ln for ln in result.stdout.splitlines() if ln.startswith(f"Write-back {target}:"))


@pytest.mark.parametrize("target,mode", [("xray", "cloud"), ("xray", "datacenter"), ("zephyr", "cloud"),
                                         ("testrail", "cloud")],
                         ids=["xray-cloud", "xray-server", "zephyr", "testrail"])
def test_generate_writes_to_the_tool_then_a_rerun_writes_nothing(tmp_path, target, mode):
    proc, printed = start_sandbox(mode)
    try:
        env = settings_for(printed, mode)
        planned = summary_line(generate(tmp_path, env, target, "--dry-run"), target)
        assert re.search(r": (\d+) create, 0 update, 0 unchanged, 0 retire, 0 conflict; epic summary comment: create$",
                         planned), planned
        n = int(re.search(r": (\d+) create", planned).group(1))
        first = summary_line(generate(tmp_path, env, target), target)
        assert f": {n} create, 0 update, 0 unchanged" in first and "epic summary comment: create" in first
        assert int(re.search(r"; (\d+) writes", first).group(1)) >= n
        again = summary_line(generate(tmp_path, env, target), target)
        assert f": 0 create, 0 update, {n} unchanged, 0 retire, 0 conflict; epic summary comment: unchanged; 0 writes" \
            in again
        assert count_in_tool(target, printed) == n
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def count_in_tool(target: str, printed: dict[str, str]) -> int:
    """How many casewright cases the tool holds, asked through its own API."""
    if target == "xray":
        from connectors.jira_writer import writer_for

        jira = writer_for(printed["JIRA_URL"], email=EMAIL, api_token=TOKEN)
        return len(jira.search("labels = casewright AND issuetype = Test", fields="summary"))
    if target == "zephyr":
        page = requests.get(printed["ZEPHYR_URL"] + "/testcases", headers={"Authorization": f"Bearer {TOKEN}"},
                            params={"projectKey": "ER", "maxResults": 1000}, timeout=10).json()
        return sum(1 for c in page["values"] if "casewright" in c.get("labels", []))
    import testrail_api

    api = testrail_api.TestRailAPI(printed["TESTRAIL_URL"], EMAIL, TOKEN, warn_ignore=True)
    cases = api.cases.get_cases(1, suite_id=1)
    return sum(1 for c in cases["cases"] if c.get("custom_casewright"))


@pytest.mark.parametrize("target,env,needle", [
    ("zephyr", {}, "--write-back zephyr needs ZEPHYR_API_TOKEN"),
    ("testrail", {"TESTRAIL_URL": "http://127.0.0.1:9/testrail"},
     "--write-back testrail needs TESTRAIL_EMAIL + TESTRAIL_API_KEY and TESTRAIL_PROJECT_ID"),
    ("xray", {"JIRA_DEPLOYMENT": "cloud"}, "--write-back xray needs XRAY_CLIENT_ID + XRAY_CLIENT_SECRET"),
])
def test_a_tool_target_without_its_settings_is_one_line_before_generating(tmp_path, target, env, needle):
    jira = {"JIRA_URL": "http://127.0.0.1:9", "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}
    r = generate(tmp_path, jira | env, target)
    assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert TOKEN not in lines[0] and not (tmp_path / "out").exists()


def test_wrong_tool_credentials_are_one_line_naming_the_setting_and_nothing_is_written(tmp_path):
    proc, printed = start_sandbox("cloud")
    try:
        env = settings_for(printed, "cloud")
        for target, wrong, setting in (("xray", "XRAY_CLIENT_SECRET", "XRAY_CLIENT_ID + XRAY_CLIENT_SECRET"),
                                       ("zephyr", "ZEPHYR_API_TOKEN", "ZEPHYR_API_TOKEN"),
                                       ("testrail", "TESTRAIL_API_KEY", "TESTRAIL_EMAIL + TESTRAIL_API_KEY")):
            r = generate(tmp_path, env | {wrong: "not-the-secret"}, target)
            assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr, (r.stdout, r.stderr)
            [line] = [ln for ln in r.stderr.splitlines() if ln.strip()]
            assert "rejected the credentials (401)" in line and setting in line and "not-the-secret" not in line
            assert count_in_tool(target, printed) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()

"""`casewright sandbox` serves Jira/Confluence, Xray Cloud, Zephyr Scale and TestRail on one port,
each behind the one demo credential, and prints the settings that point casewright at them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import requests
import testrail_api

from connectors.workspace import SAMPLE_PATH
from support import ROOT

EMAIL, TOKEN = "qa.lead@example.com", "demo-token"


def _start() -> tuple[subprocess.Popen, dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "casewright", "sandbox", "--seed", str(SAMPLE_PATH), "--port", "0",
                             "--email", EMAIL, "--token", TOKEN], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while "TESTRAIL_URL" not in urls and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        urls.update(re.findall(r"([A-Z_]+_URL)=(\S+)", line))
    assert "TESTRAIL_URL" in urls, f"sandbox did not print its URLs: {urls}"
    base = urls["JIRA_URL"]
    while time.monotonic() < deadline:  # printed before uvicorn binds: wait for it
        try:
            requests.get(base + "/rest/api/2/serverInfo", timeout=2)
            return proc, urls
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("sandbox did not start")


def test_one_port_serves_every_tool_behind_the_one_credential():
    proc, urls = _start()
    try:
        base = urls["JIRA_URL"]
        assert {urls["XRAY_URL"], urls["ZEPHYR_URL"], urls["TESTRAIL_URL"]} == {
            f"{base}/xray", f"{base}/zephyr/v2", f"{base}/testrail"}
        # Jira
        assert requests.get(f"{base}/rest/api/2/myself", auth=(EMAIL, TOKEN), timeout=10).status_code == 200
        assert requests.get(f"{base}/rest/api/2/myself", auth=(EMAIL, "x"), timeout=10).status_code == 401
        # Xray Cloud: client id = email, client secret = token
        auth = f"{urls['XRAY_URL']}/api/v2/authenticate"
        token = requests.post(auth, json={"client_id": EMAIL, "client_secret": TOKEN}, timeout=10).json()
        bad = requests.post(auth, json={"client_id": EMAIL, "client_secret": "x"}, timeout=10)
        assert bad.status_code == 401 and "Invalid client credentials" in bad.json()["error"]
        got = requests.post(f"{urls['XRAY_URL']}/api/v2/graphql", headers={"Authorization": f"Bearer {token}"},
                            json={"query": '{ getTests(jql: "project = ER", limit: 5) { total } }'}, timeout=10)
        assert got.json()["data"]["getTests"]["total"] == 22  # the sample's approved Test issues
        # Zephyr Scale: bearer token = token; a project for the workspace's Jira project
        zephyr = requests.get(f"{urls['ZEPHYR_URL']}/projects/ER", headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=10)
        assert zephyr.json()["key"] == "ER" and zephyr.json()["jiraProjectId"] == 10000
        assert requests.get(f"{urls['ZEPHYR_URL']}/projects/ER", timeout=10).status_code == 401
        # TestRail through its client: email + API key = token; project 1 seeded
        api = testrail_api.TestRailAPI
        assert api(urls["TESTRAIL_URL"], EMAIL, TOKEN, warn_ignore=True).projects.get_project(1)["id"] == 1
        try:
            api(urls["TESTRAIL_URL"], EMAIL, "x", warn_ignore=True, exc_iterations=1).projects.get_project(1)
            raise AssertionError("wrong TestRail credentials were accepted")
        except testrail_api.StatusCodeError as exc:
            assert exc.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Stories read live from Jira by JQL, exported like the same stories read from a file."""

from __future__ import annotations

import json

from agent.finetune.workspace import stories_from_workspace
from connectors.workspace import SAMPLE_PATH, load_workspace


def test_export_from_live_jira_by_jql(tmp_path):
    """--jira --jql through the real jira client against the project's Jira/Confluence emulator."""
    from typer.testing import CliRunner

    from casewright.cli import app
    from connectors.settings import get_settings
    from support.sandbox import API_TOKEN, EMAIL, start_sandbox

    server, _ = start_sandbox("cloud")
    env = {"COLUMNS": "200", "JIRA_URL": server.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN,
           "CONFLUENCE_URL": server.url, "CONFLUENCE_EMAIL": EMAIL, "CONFLUENCE_API_TOKEN": API_TOKEN}
    get_settings.cache_clear()
    try:
        out = tmp_path / "live"
        res = CliRunner().invoke(app, ["finetune", "export", "--jira", "--jql", "project = ER AND issuetype = Story",
                                       "--out", str(out), "--with-context"], env=env)
    finally:
        get_settings.cache_clear()
        server.stop()
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    file_based = {s.key for s in stories_from_workspace(load_workspace(SAMPLE_PATH)) if s.approved_cases}
    got = set(manifest["splits"]["train"]["stories"]) | set(manifest["splits"]["validation"]["stories"])
    assert got == file_based
    assert manifest["source"].startswith("jira: project = ER")
    # --with-context: retrieval from a knowledge base built from what Jira/Confluence returned
    assert manifest["context"].startswith("knowledge base")
    records = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert all("<rule kind=" in r["messages"][1]["content"] for r in records)
    for r, key in zip(records, manifest["splits"]["train"]["stories"]):
        own = json.loads(r["messages"][2]["content"])["cases"]
        assert all(f'id="{c["id"]}"' not in r["messages"][1]["content"] for c in own), "answer leaked into prompt"

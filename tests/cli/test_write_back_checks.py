"""`casewright generate` checks its write-back options before generating anything: one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.workspace import SAMPLE_PATH

JIRA_VARS = ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT")


def run_cli(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in JIRA_VARS and not k.startswith("CASEWRIGHT_")}
    full = {**base, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "casewright", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=full, timeout=120)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("env,needle", [
    ({}, "needs JIRA_URL and JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)"),
    ({"JIRA_URL": "http://127.0.0.1:9"}, "needs JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)"),
])
def test_write_back_from_a_file_without_jira_settings_fails_up_front(tmp_path, env, needle):
    r = run_cli("generate", "ER-1", "--source", str(SAMPLE_PATH), "--write-back", "issues", "--out", str(tmp_path / "out"),
                tmp_path=tmp_path, env=env)
    line = one_line_error(r)
    assert needle in line and "--write-back issues" in line and "--source" not in line
    assert not (tmp_path / "out").exists()  # nothing was generated first


def test_dry_run_without_a_write_back_mode_is_an_error(tmp_path):
    r = run_cli("generate", "ER-1", "--source", str(SAMPLE_PATH), "--dry-run", "--out", str(tmp_path / "out"),
                tmp_path=tmp_path)
    assert "--dry-run plans a write-back: add --write-back issues|subtasks|comment" in one_line_error(r)
    assert not (tmp_path / "out").exists()

"""Keys given on the command line that are not Jira issue keys: one line, exit 2, and not one
request reaches Jira (the emulator records every request)."""

import os
import subprocess
import sys

import pytest

from support.sandbox import start_sandbox

BAD = "../../rest/api/2/serverInfo"


@pytest.fixture(scope="module")
def jira():
    server, creds = start_sandbox("cloud")
    env = {"JIRA_URL": server.url, "JIRA_EMAIL": creds.email, "JIRA_API_TOKEN": creds.api_token}
    try:
        yield server, env
    finally:
        server.stop()


def run_cli(*args, tmp_path, env):
    full = {**os.environ, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1", "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "casewright", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=full, timeout=120)


@pytest.mark.parametrize("args, named", [
    (("generate", BAD, "--jira", "--out", "o"), BAD),
    (("generate", "ER-1%2F..", "--jira", "--out", "o"), "ER-1%2F.."),
    (("generate", "ER-1", "--jira", "--stories", f"ER-2,{BAD}", "--out", "o"), BAD),
    (("export", BAD, "--out", "ws.json"), BAD),
    (("enqueue", BAD), BAD),
    (("demo", "--epic", "ER-1 OR key = ER-2", "--no-ingest", "--out", "o"), "ER-1 OR key = ER-2"),
])
def test_a_key_that_is_not_a_jira_key_is_one_line_exit_2_and_no_request(jira, tmp_path, args, named):
    server, env = jira
    server.reset_log()
    result = run_cli(*args, tmp_path=tmp_path, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert named in lines[0] and "is not a Jira issue key" in lines[0]
    assert server.requests == []

"""`casewright generate --coverage`: gaps or all, anything else one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from connectors.workspace import SAMPLE_PATH


def run_cli(*args, tmp_path: Path):
    env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1", "COLUMNS": "160",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "casewright", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)


def test_unknown_coverage_mode_is_one_line_and_exit_2(tmp_path):
    result = run_cli("generate", "ER-14", "--source", str(SAMPLE_PATH), "--coverage", "some", tmp_path=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "unknown --coverage 'some'; choose from gaps, all" in result.stderr
    assert "Traceback" not in result.stderr


def test_coverage_all_from_the_command_line(tmp_path):
    result = run_cli("generate", "ER-14", "--source", str(SAMPLE_PATH), "--coverage", "all", "--stories", "ER-15",
                     "--out", str(tmp_path / "out"), tmp_path=tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
    cs = json.loads((tmp_path / "out" / "ER-14.json").read_text())
    assert [c for c in cs["cases"] if c["story_key"] == "ER-15"]
    assert {row["status"] for row in cs["coverage"]} == {"covered"}

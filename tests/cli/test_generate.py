"""The CLI end to end, in a subprocess, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gherkin.parser import Parser

from agent.models import CaseSet


def run_cli(*args, tmp_path: Path, env: dict | None = None, timeout: int = 240):
    full_env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1",
                "COLUMNS": "160", **(env or {})}
    return subprocess.run([sys.executable, "-m", "casewright", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=full_env, timeout=timeout)


def test_demo_writes_every_format(tmp_path):
    result = run_cli("demo", "--out", str(tmp_path / "out"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    case_set = CaseSet.model_validate_json((out / "ER-1.json").read_text())
    assert case_set.cases and case_set.coverage_ratio == 1.0
    assert (out / "ER-1.md").read_text().count("|") > 50
    assert (out / "ER-1.csv").exists() and (out / "ER-1.xray.json").exists()
    features = sorted((out / "ER-1").glob("*.feature"))
    assert features
    scenarios = 0
    for f in features:
        doc = Parser().parse(f.read_text())
        scenarios += sum(1 for child in doc["feature"]["children"] if "scenario" in child)
    assert scenarios == len(case_set.cases)
    assert "Stories" in result.stdout and "Coverage" in result.stdout


def test_generate_from_a_workspace_file_with_chosen_formats(tmp_path):
    from connectors.workspace import SAMPLE_PATH

    ws = tmp_path / "ws.json"
    ws.write_text(SAMPLE_PATH.read_text())
    result = run_cli("generate", "ER-8", "--source", str(ws), "--format", "json,feature", "--out", "o",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "o" / "ER-8.json").read_text())
    assert {c["story_key"] for c in data["cases"]} >= {"ER-9", "ER-10", "ER-11"}
    assert not (tmp_path / "o" / "ER-8.md").exists()


@pytest.mark.parametrize("args,needle", [
    (["generate", "NOPE-1", "--source", "{sample}"], "unknown epic NOPE-1"),
    (["generate", "ER-1", "--source", "missing.json"], "not found"),
    (["generate", "ER-1", "--source", "{broken}"], "not valid JSON"),
    (["generate", "ER-1", "--source", "{sample}", "--format", "pdf"], "unknown format 'pdf'"),
    (["generate", "ER-1", "--source", "{shape}"], "needs a 'key'"),
    (["generate", "ER-1"], "--source"),
    (["generate", "ER-1", "--source", "{caseset}"], "is valid JSON but not a casewright workspace"),
    (["generate", "ER-2", "--source", "{sample}"], "ER-2 is a Story, not an epic; it belongs to epic ER-1"),
])
def test_bad_input_gets_one_clear_line_and_exit_2(tmp_path, args, needle):
    from connectors.workspace import SAMPLE_PATH

    (tmp_path / "broken.json").write_text('{"issues": [')
    (tmp_path / "shape.json").write_text('{"issues": [{"fields": {}}]}')
    (tmp_path / "caseset.json").write_text('{"epic": {"key": "ER-1"}, "cases": []}')
    subs = {"{sample}": str(SAMPLE_PATH), "{broken}": str(tmp_path / "broken.json"),
            "{shape}": str(tmp_path / "shape.json"), "{caseset}": str(tmp_path / "caseset.json")}
    result = run_cli(*[subs.get(a, a) for a in args], tmp_path=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    crashed = run_cli("generate", "ER-1", "--source", "sample", "--format", "json", "--out", "o",
                      tmp_path=tmp_path, env={"CASEWRIGHT_FAIL_AT": "review"})
    assert crashed.returncode != 0
    assert not (tmp_path / "o" / "ER-1.json").exists()
    runs = list((tmp_path / "data" / "runs").glob("*.json"))
    assert len(runs) == 1
    run_id = runs[0].stem
    assert json.loads(runs[0].read_text())["status"] == "failed"
    resumed = run_cli("generate", "ER-1", "--resume", run_id, tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads((tmp_path / "o" / "ER-1.json").read_text())
    assert data["run_id"] == run_id and data["cases"]
    assert json.loads(runs[0].read_text())["status"] == "done"


@pytest.mark.parametrize("text,needle", [
    ("priorities:\n  levels: []\n", "priorities.levels: is empty"),
    ("id_pattern: '{project}-UAT-{story_number}'\n", "id_pattern:"),
    ("title_style: 'Check {what}'\n", "title_style: unknown placeholder"),
    ("negative_checks: [missing_auth, no_coffee]\n", "negative_checks: unknown check(s) no_coffee"),
])
def test_a_broken_house_template_is_one_line_and_exit_2_before_the_run(tmp_path, text, needle):
    template = tmp_path / "team.yaml"
    template.write_text(text)
    result = run_cli("generate", "ER-1", "--source", "sample", "--template", str(template), "--out", "o",
                     tmp_path=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(template) in lines[0] and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "--resume" not in result.stderr
    assert not (tmp_path / "o").exists() and not list((tmp_path / "data").glob("runs/*.json"))


@pytest.mark.parametrize("data_dir,needle", [
    ("{file}", "is a file, not a directory"),
    ("{file}/data", "which is a file"),
    ("/sys/casewright-data", "cannot be created"),
])
def test_an_unusable_data_dir_is_one_line_and_exit_2(tmp_path, data_dir, needle):
    (tmp_path / "file").write_text("not a directory")
    data_dir = data_dir.replace("{file}", str(tmp_path / "file"))
    for args in (["generate", "ER-1", "--source", "sample", "--out", "o"], ["runs"]):
        result = run_cli(*args, tmp_path=tmp_path, env={"CASEWRIGHT_DATA_DIR": data_dir})
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "CASEWRIGHT_DATA_DIR" in lines[0], result.stderr
        assert "Traceback" not in result.stderr

"""`generate --review` stops before writing back; `runs` lists it; `approve` (and `--reject
--reason`) resume it, each in a new process, with the model served by the OpenAI-compatible stub."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from connectors.emulators.openai_chat import OpenAIStub

pytestmark = pytest.mark.xdist_group("openai_stub_cli")


@pytest.fixture
def cli(tmp_path):
    with OpenAIStub() as stub:
        env = {**os.environ, "CASEWRIGHT_MODEL": "openai-compatible:casewright-stub",
               "CASEWRIGHT_MODEL_BASE_URL": stub.base_url, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"),
               "CASEWRIGHT_PRICE_INPUT_PER_MTOK": "3", "CASEWRIGHT_PRICE_OUTPUT_PER_MTOK": "15", "COLUMNS": "200"}
        for key in ("OPENAI_API_KEY", "CASEWRIGHT_WRITE_BACK"):
            env.pop(key, None)

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "casewright", *args], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120)

        run.stub = stub  # type: ignore[attr-defined]
        yield run


def test_review_reject_approve_across_processes(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("generate", "ER-1", "--source", "sample", "--stories", "ER-2,ER-3", "--review", "--format", "json",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    run_id = re.search(r"casewright approve (\S+)", r.stdout).group(1)
    first_calls = len(cli.stub.requests)
    assert first_calls == 3  # plan + one generate per story

    listed = cli("runs", "--waiting")
    assert run_id in listed.stdout and "waiting-approval" in listed.stdout

    r = cli("approve", run_id, "--reject")
    assert r.returncode == 2 and "--reason" in r.stderr

    r = cli("approve", run_id, "--reject", "--reason", "Spell out the SMS text in every positive case")
    assert r.returncode == 0, r.stderr
    assert "Waiting for approval" in r.stdout
    revise = [q for q in cli.stub.requests[first_calls:]]
    assert len(revise) == 2  # one more round, every story in scope
    assert all("Spell out the SMS text" in q.body["messages"][1]["content"] for q in revise)

    r = cli("approve", run_id, "--by", "qa.lead")
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path / "data" / "runs" / f"{run_id}.json").read_text())
    assert record["status"] == "done" and record["approval"]["status"] == "approved"
    assert record["approval"]["by"] == "qa.lead"
    report = json.loads((out / "ER-1.json").read_text())
    assert report["stats"]["llm_calls"] == 5 and report["stats"]["revise_calls"] == 2
    expected = round(report["stats"]["input_tokens"] * 3 / 1e6 + report["stats"]["output_tokens"] * 15 / 1e6, 6)
    assert report["stats"]["cost_usd"] == pytest.approx(expected)
    per_node = sum(report["stats"][f"{n}_cost_usd"] for n in ("plan", "generate", "revise"))
    assert per_node == pytest.approx(expected, abs=1e-5)

    again = cli("approve", run_id)
    assert again.returncode == 2 and "not waiting for approval" in again.stderr

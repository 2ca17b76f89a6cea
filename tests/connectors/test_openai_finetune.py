"""Hosted fine-tuning with the real openai SDK against a local stub of the files and jobs endpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.finetune.examples import build_examples, template_text
from agent.finetune.export import export_examples
from agent.finetune.workspace import stories_from_workspace
from agent.generation.template import load_template
from connectors.emulators.openai_finetune import OpenAIFineTuneStub
from connectors.openai_finetune import HostedFineTuneError, run_hosted_finetune
from connectors.workspace import SAMPLE_PATH, load_workspace
from support import ROOT


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    ws = load_workspace(SAMPLE_PATH)
    examples, _ = build_examples(stories_from_workspace(ws), template=template_text(load_template()))
    return export_examples(examples, tmp_path_factory.mktemp("ft") / "export").out_dir


def test_hosted_job_runs_to_the_model_id(export_dir):
    events = []
    with OpenAIFineTuneStub(api_key="sk-test-1") as stub:
        result = run_hosted_finetune(export_dir / "train.jsonl", export_dir / "validation.jsonl",
                                     base_model="gpt-4.1-mini-2025-04-14", suffix="volta-uat", n_epochs=2,
                                     api_key="sk-test-1", base_url=stub.base_url, poll_interval_s=0,
                                     on_event=events.append)
        uploaded = {f["filename"]: f["_content"] for f in stub.files.values()}
        job = stub.jobs[result.job_id]
    assert result.status == "succeeded"
    assert result.model_id and result.model_id.startswith("ft:gpt-4.1-mini-2025-04-14:casewright:volta-uat")
    # the bytes the service received are the export's, unchanged
    assert uploaded["train.jsonl"] == (export_dir / "train.jsonl").read_bytes()
    assert uploaded["validation.jsonl"] == (export_dir / "validation.jsonl").read_bytes()
    assert job["training_file"] == result.training_file_id and job["validation_file"] == result.validation_file_id
    assert job["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
    assert result.trained_tokens and result.trained_tokens > 0
    # progress went through the job's life, each event once
    assert any("running" in e for e in events) and any("New fine-tuned model" in e for e in events)
    assert len(result.events) == len(set(result.events))


def test_bad_key_is_one_clear_error(export_dir):
    with OpenAIFineTuneStub(api_key="sk-right") as stub:
        with pytest.raises(HostedFineTuneError, match="key was rejected"):
            run_hosted_finetune(export_dir / "train.jsonl", api_key="sk-wrong", base_url=stub.base_url,
                                poll_interval_s=0, max_retries=0)
        assert not stub.jobs


def test_invalid_training_file_fails_the_job(tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n", encoding="utf-8")
    with OpenAIFineTuneStub(api_key="k") as stub:
        result = run_hosted_finetune(bad, api_key="k", base_url=stub.base_url, poll_interval_s=0)
    assert result.status == "failed" and result.model_id is None
    assert "assistant" in (result.error or "")


def test_missing_files_and_key(tmp_path, monkeypatch):
    with pytest.raises(HostedFineTuneError, match="finetune export"):
        run_hosted_finetune(tmp_path / "nope.jsonl", api_key="k")
    (tmp_path / "t.jsonl").write_text("{}\n")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(HostedFineTuneError, match="OPENAI_API_KEY"):
        run_hosted_finetune(tmp_path / "t.jsonl")


def test_cli_prints_the_model_id(export_dir):
    with OpenAIFineTuneStub(api_key="sk-cli") as stub:
        env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": stub.base_url, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-m", "casewright", "finetune", "openai", "--data", str(export_dir),
                               "--poll", "0"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        stub_fail = OpenAIFineTuneStub(api_key="sk-cli", fail_jobs=True)
    assert done.returncode == 0, done.stderr
    assert "model id: ft:gpt-4.1-mini-2025-04-14:casewright" in done.stdout
    assert "CASEWRIGHT_MODEL=openai:ft:" in done.stdout
    with stub_fail:
        env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": stub_fail.base_url}
        failed = subprocess.run([sys.executable, "-m", "casewright", "finetune", "openai", "--data", str(export_dir),
                                 "--poll", "0"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert failed.returncode == 2
    assert "ended failed" in failed.stderr and "Traceback" not in failed.stderr

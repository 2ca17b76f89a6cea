"""One run from one set of settings: a `.env` with non-default model options reaches the chat
model identically through `casewright generate` and through a job on a real Celery worker
(both build their run with Configuration.from_settings + Services.from_settings)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from connectors.emulators.openai_chat import OpenAIStub
from support.service import WorkerProcess, cleanup, make_settings, unique_prefix
from workers.celery_app import celery_for
from workers.jobs import enqueue_generate

pytestmark = pytest.mark.xdist_group("workers-e2e")
DB = 4


def model_calls(stub: OpenAIStub) -> set[tuple]:
    """What each request told the model server: model, temperature, token limit, key."""
    return {(r.body.get("model"), r.body.get("temperature"),
             r.body.get("max_completion_tokens", r.body.get("max_tokens")), r.authorization)
            for r in stub.requests}


def test_dot_env_model_options_reach_the_model_the_same_way_from_cli_and_worker(tmp_path):
    with OpenAIStub() as stub:
        (tmp_path / ".env").write_text(
            "CASEWRIGHT_MODEL=openai-compatible:casewright-stub\n"
            f"CASEWRIGHT_MODEL_BASE_URL={stub.base_url}\n"
            "CASEWRIGHT_TEMPERATURE=0.73\n"
            "CASEWRIGHT_MAX_TOKENS=1234\n"
            "CASEWRIGHT_LLM_RETRIES=0\n"
            "CASEWRIGHT_MAX_REVISE_ROUNDS=0\n"
            "OPENAI_API_KEY=sk-from-dot-env\n", encoding="utf-8")
        # nothing about the model in the environment: only the .env in the working directory says it
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CASEWRIGHT_", "OPENAI_", "ANTHROPIC_", "OLLAMA_"))}
        env.update(CASEWRIGHT_DATA_DIR=str(tmp_path / "cli-data"), NO_COLOR="1")
        cli = subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--source", "sample",
                              "--stories", "ER-2", "--format", "json", "--out", str(tmp_path / "cli-out")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert cli.returncode == 0, cli.stderr
        through_cli = model_calls(stub)
        stub.reset()

        settings = make_settings(DB, unique_prefix("samerun"), data_dir=tmp_path / "worker-data",
                                 out_dir=tmp_path / "worker-out")
        worker = WorkerProcess(settings, tmp_path / "worker.log", cwd=tmp_path, base_env=env).start()
        try:
            queued = enqueue_generate("ER-1", settings=settings, source="sample", formats=["json"])
            result = celery_for(settings).AsyncResult(queued.job_id)
            deadline = time.monotonic() + 180
            while not result.ready():
                assert time.monotonic() < deadline, worker.log_tail()
                time.sleep(0.2)
            assert result.successful(), worker.log_tail()
        finally:
            worker.stop()
            cleanup(DB, settings.redis_prefix)
        through_worker = model_calls(stub)

    expected = {("casewright-stub", 0.73, 1234, "Bearer sk-from-dot-env")}
    assert through_cli == expected
    assert through_worker == expected

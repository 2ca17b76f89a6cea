"""The fine-tuned adapter served: a LoRA trained for a few steps by `finetune train` on the
packaged GGUF, written as a llama.cpp adapter, served by the same real server as `local-ft` and
answering through casewright's openai-compatible provider; `llm serve --lora` prints the settings
for it, and a bad adapter file is one line and exit code 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from langchain_core.messages import HumanMessage

from connectors.local_model import ADAPTER_GGUF, FT_MODEL_ALIAS, LocalModelServer, packaged_model_path
from support import ROOT
from support.local_adapter import ft_chat_model, train_tiny_adapter
from support.local_model import CONTEXT, THREADS

pytestmark = pytest.mark.xdist_group("local_model")


def _env() -> dict[str, str]:
    extra = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *([extra] if extra else [])]), "COLUMNS": "200"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casewright", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    started = time.monotonic()
    result = train_tiny_adapter(tmp_path_factory.mktemp("ft"))
    print(f"trained and converted in {time.monotonic() - started:.0f} s")
    return result


def test_finetune_train_on_the_gguf_writes_the_llama_cpp_adapter(trained):
    assert trained.steps == 2 and trained.losses
    assert trained.gguf_adapter == trained.out_dir / ADAPTER_GGUF and trained.gguf_adapter.stat().st_size > 0
    assert "casewright llm serve --model BASE.gguf --lora OUT" in (trained.out_dir / "README.md").read_text()


def test_the_adapter_is_served_and_answers_through_the_provider(trained):
    with LocalModelServer(lora_path=trained.out_dir, threads=THREADS, n_ctx=CONTEXT, startup_timeout_s=180.0) as server:
        assert server.lora_path == trained.gguf_adapter.resolve()
        assert [m["id"] for m in httpx.get(f"{server.base_url}/models", timeout=10).json()["data"]] == [FT_MODEL_ALIAS]
        assert server.env()["CASEWRIGHT_MODEL"] == "openai-compatible:local-ft"
        answer = ft_chat_model(server, max_tokens=24).invoke(
            [HumanMessage("Write one Gherkin step that checks a refund is declined.")])
        assert isinstance(answer.content, str) and answer.content.strip()
        assert answer.response_metadata.get("model_name") == FT_MODEL_ALIAS
        assert answer.usage_metadata["output_tokens"] > 0


def test_llm_serve_lora_prints_the_fine_tuned_models_settings(trained):
    proc = subprocess.Popen([sys.executable, "-m", "casewright", "llm", "serve", "--port", "0", "--threads", "2",
                             "--lora", str(trained.gguf_adapter)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + 180
        while "CASEWRIGHT_STRUCTURED_OUTPUT" not in printed and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            m = re.match(r"\s*(CASEWRIGHT_[A-Z_]+)=(\S+)", line)
            if m:
                printed[m.group(1)] = m.group(2)
        assert printed["CASEWRIGHT_MODEL"] == "openai-compatible:local-ft"
        models = httpx.get(f"{printed['CASEWRIGHT_MODEL_BASE_URL']}/models", timeout=10).json()["data"]
        assert [m["id"] for m in models] == ["local-ft"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_adapter_files_are_one_line_and_exit_2(tmp_path):
    not_gguf = tmp_path / "adapter.gguf"
    not_gguf.write_text("not an adapter")
    cases = [
        (tmp_path / "none.gguf", f"adapter file '{tmp_path / 'none.gguf'}' does not exist"),
        (not_gguf, "is not a GGUF file"),
        (packaged_model_path(), "is a GGUF file but not a LoRA adapter (general.type=model"),
        (tmp_path / "empty-dir", "has no adapter.gguf"),
    ]
    (tmp_path / "empty-dir").mkdir()
    for path, message in cases:
        r = _cli("llm", "serve", "--port", "0", "--lora", str(path))
        assert r.returncode == 2, (path, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr, lines


def test_finetune_gguf_converts_an_adapter_folder_and_refuses_a_non_adapter(trained, tmp_path):
    out = tmp_path / "again.gguf"
    r = _cli("finetune", "gguf", "--adapter", str(trained.adapter_dir), "--base", str(packaged_model_path()),
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == trained.gguf_adapter.read_bytes()
    r = _cli("finetune", "gguf", "--adapter", str(tmp_path), "--base", str(packaged_model_path()), "--out", str(out))
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: {tmp_path} has no adapter_config.json; pass the adapter folder `casewright finetune train` "
        "wrote (OUT/adapter)"]
    assert json.loads((trained.out_dir / "training.json").read_text())["steps"] == 2

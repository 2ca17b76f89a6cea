"""`casewright llm serve`: bad input is one line and exit code 2; the real server starts, answers
under /v1 as model `local`, and the command prints the settings that point casewright at it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from support import ROOT

pytestmark = pytest.mark.xdist_group("local_model")


def _env() -> dict[str, str]:
    extra = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *([extra] if extra else [])]), "COLUMNS": "200"}


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casewright", "llm", "serve", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=60)


def test_a_missing_model_file_is_one_line(tmp_path):
    r = _serve("--model", str(tmp_path / "nope.gguf"), "--port", "0")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: model file '{tmp_path / 'nope.gguf'}' does not exist; "
                                             "pass --model PATH to a GGUF file"]


def test_a_file_that_is_not_gguf_is_one_line(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_text("not a model")
    r = _serve("--model", str(bad), "--port", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is not a GGUF file" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_bad_port_is_one_line():
    r = _serve("--port", "70000")
    assert r.returncode == 2 and r.stderr.strip() == "error: --port 70000 is not a port number; use 0-65535"


def test_serve_starts_the_packaged_model_and_prints_the_settings():
    proc = subprocess.Popen([sys.executable, "-m", "casewright", "llm", "serve", "--port", "0", "--threads", "2"],
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
        assert printed["CASEWRIGHT_MODEL"] == "openai-compatible:local"
        assert printed["CASEWRIGHT_STRUCTURED_OUTPUT"] == "function_calling"
        assert printed["CASEWRIGHT_MODEL_CONTEXT_TOKENS"] == "8192"  # prompts are budgeted to the server's window
        base = printed["CASEWRIGHT_MODEL_BASE_URL"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base)
        assert [m["id"] for m in httpx.get(f"{base}/models", timeout=10).json()["data"]] == ["local"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with pytest.raises(httpx.HTTPError):  # the command took its server down with it
        httpx.get(f"{base}/models", timeout=5)

"""`casewright eval` with the local model rows (--local, --ft-lora): bad input is one line and
exit code 2, before any model or knowledge base is loaded. The rows themselves run in
bench/eval_table.py (minutes per story on a CPU)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import LAJ, ROOT


def _eval(*args: str) -> subprocess.CompletedProcess:
    extra = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *([extra] if extra else [])]), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "casewright", "eval", "--dataset", str(LAJ), "--ids", "26",
                           "--configs", "llm,ft", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--ft-lora", "{tmp}/none.gguf"], "error: adapter file '{tmp}/none.gguf' does not exist; "
                                        "pass --lora PATH to a LoRA adapter GGUF"),
    (["--ft-lora", "{tmp}", "--ft-model", "openai-compatible:x"],
     "error: give either --ft-lora (served locally) or --ft-model, not both"),
    (["--local-model", "{tmp}/m.gguf"], "error: --local-model needs --local or --ft-lora"),
    (["--local", "--local-threads", "-1"],
     "error: --local-threads and --local-max-tokens take 0 (the default) or a positive count"),
    (["--ft-lora", "{tmp}"], "error: '{tmp}' has no adapter.gguf; pass a LoRA adapter GGUF or the --out folder "
                             "of `casewright finetune train --base FILE.gguf`"),
])
def test_bad_local_row_options_are_one_line(tmp_path, args, message):
    r = _eval(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [message.format(tmp=tmp_path)]

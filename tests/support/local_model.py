"""The real local model server for the tests: llama.cpp (llama-cpp-python's server) serving the
packaged SmolLM2-135M-Instruct on a free loopback port, started once per test module.

Nothing is faked: requests go over HTTP through langchain-openai's ChatOpenAI, the provider casewright
builds for `openai-compatible:local`. The stub (connectors/emulators/openai_chat.py) stays for fault
injection (429, 500, malformed JSON)."""

from __future__ import annotations

from agent.llm.provider import ModelOptions, build_chat_model
from connectors.local_model import MODEL_ALIAS, STRUCTURED_OUTPUT, LocalModelServer

# One thread: the suite runs two workers on two cores, and llama.cpp's OpenMP threads spin while they
# wait, so a second thread on a busy core slows it down (docs/models.md, measured).
THREADS = 1
CONTEXT = 8192  # casewright's prompt for a sample story is ~4,200 tokens; SmolLM2 has 8192


def start_local_model() -> LocalModelServer:
    """The server, started on a free port (stop() it when done)."""
    return LocalModelServer(threads=THREADS, n_ctx=CONTEXT, startup_timeout_s=180.0).start()


def llm_options(server: LocalModelServer, **overrides) -> dict:
    """The run options (Configuration.llm) that point a run at the server."""
    return {"model_base_url": server.base_url, "structured_output": STRUCTURED_OUTPUT, "temperature": 0.0,
            "model_context_tokens": server.n_ctx,
            "llm_retries": 0, "llm_timeout_s": 600.0, **overrides}


def chat_model(server: LocalModelServer, **overrides):
    """ChatOpenAI for the server, built the way a run builds it (agent/llm/provider.py)."""
    return build_chat_model(ModelOptions.of(f"openai-compatible:{MODEL_ALIAS}", llm_options(server, **overrides)))

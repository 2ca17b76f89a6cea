"""CASEWRIGHT_MODEL=provider:model -> a langchain chat model, with one clear line for what is missing."""

from __future__ import annotations

import sys

import pytest

from agent.configuration import Configuration
from agent.llm.provider import (
    ModelConfigError,
    ModelOptions,
    ProviderKeys,
    build_chat_model,
    parse_model,
    structured_method,
)
from connectors.errors import CasewrightError
from connectors.settings import Settings, load_settings


def test_parse_model():
    assert parse_model("rules") is None and parse_model("") is None and parse_model(None) is None
    spec = parse_model("openai-compatible:qwen2.5-7b-uat:latest")
    assert (spec.provider, spec.name) == ("openai-compatible", "qwen2.5-7b-uat:latest")
    for bad, words in [("gpt-4o", "provider:model"), ("mistral:large", "unknown"), ("openai:", "provider:model")]:
        with pytest.raises(ModelConfigError) as err:
            parse_model(bad)
        assert words in str(err.value) and "\n" not in str(err.value)


def test_openai_needs_key():
    with pytest.raises(ModelConfigError, match="set OPENAI_API_KEY"):
        build_chat_model(ModelOptions.of("openai:gpt-4.1-mini"))


def test_openai_settings_reach_the_client(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("CASEWRIGHT_MODEL", "openai:gpt-4.1-mini")
    monkeypatch.setenv("CASEWRIGHT_TEMPERATURE", "0.0")
    monkeypatch.setenv("CASEWRIGHT_MAX_TOKENS", "2048")
    monkeypatch.setenv("CASEWRIGHT_LLM_TIMEOUT", "33")
    monkeypatch.setenv("CASEWRIGHT_LLM_RETRIES", "5")
    settings = Settings()
    cfg = Configuration.from_settings(settings)
    model = build_chat_model(ModelOptions.of(cfg.model, cfg.llm), keys=ProviderKeys.from_settings(settings))
    assert model.model_name == "gpt-4.1-mini"
    assert model.temperature == 0.0 and model.max_tokens == 2048
    assert model.request_timeout == 33 and model.max_retries == 5
    assert model.openai_api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(model)


def test_openai_compatible_needs_base_url():
    with pytest.raises(ModelConfigError, match="CASEWRIGHT_MODEL_BASE_URL"):
        build_chat_model(ModelOptions.of("openai-compatible:my-ft"))
    model = build_chat_model(ModelOptions.of("openai-compatible:my-ft", {"model_base_url": "http://127.0.0.1:9/v1"}))
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.model_name == "my-ft"


@pytest.mark.parametrize("provider,module,extra,env", [
    ("anthropic", "langchain_anthropic", "anthropic", "ANTHROPIC_API_KEY"),
    ("ollama", "langchain_ollama", "ollama", None),
])
def test_missing_extra_says_what_to_install(monkeypatch, provider, module, extra, env):
    monkeypatch.setitem(sys.modules, module, None)  # as if the optional extra were not installed
    keys = ProviderKeys(anthropic_api_key="x") if env else ProviderKeys()
    with pytest.raises(ModelConfigError) as err:
        build_chat_model(ModelOptions.of(f"{provider}:some-model"), keys=keys)
    assert f"pip install 'casewright[{extra}]'" in str(err.value) and "\n" not in str(err.value)


def test_structured_method_defaults():
    assert structured_method(parse_model("openai:x")) == "json_schema"
    assert structured_method(parse_model("anthropic:x")) == "function_calling"
    assert structured_method(parse_model("openai:x"), "prompt") == "prompt"
    with pytest.raises(ModelConfigError):
        structured_method(parse_model("openai:x"), "xml")


def test_cli_prints_one_line_for_a_bad_model(tmp_path):
    import os
    import subprocess

    env = {**os.environ, "CASEWRIGHT_MODEL": "openai:gpt-4.1-mini", "CASEWRIGHT_DATA_DIR": str(tmp_path / "d")}
    env.pop("OPENAI_API_KEY", None)
    r = subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--source", "sample",
                        "--out", str(tmp_path / "o"), "--stories", "ER-2", "--format", "json"],
                       env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "set OPENAI_API_KEY" in r.stderr and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1


def test_a_run_carries_the_settings_model_options_and_nothing_else_reads_them(monkeypatch):
    """The environment is read by the settings alone: a run built from them carries the options,
    and options a run lacks take their defaults, whatever the environment says."""
    monkeypatch.setenv("CASEWRIGHT_MODEL_BASE_URL", "http://127.0.0.1:8/v1")
    monkeypatch.setenv("CASEWRIGHT_LLM_RETRIES", "7")
    cfg = Configuration.from_settings(Settings())
    assert cfg.llm["model_base_url"] == "http://127.0.0.1:8/v1" and cfg.llm["llm_retries"] == 7
    opts = ModelOptions.of("openai-compatible:m", {"llm_retries": 1})
    assert opts.model_base_url is None and opts.llm_retries == 1 and opts.temperature == 0.2
    monkeypatch.setenv("CASEWRIGHT_TEMPERATURE", "warm")
    with pytest.raises(CasewrightError, match="CASEWRIGHT_TEMPERATURE"):
        load_settings()


def test_provider_key_from_dot_env_reaches_the_server(tmp_path):
    """OPENAI_API_KEY only in `.env` (as deploy/.env.example documents): the CLI finds it, sends it,
    and never writes it into the run record or the checkpoints."""
    import os
    import subprocess

    from connectors.emulators.openai_chat import OpenAIStub

    with OpenAIStub() as stub:
        (tmp_path / ".env").write_text(
            "CASEWRIGHT_MODEL=openai:casewright-stub\n"
            f"CASEWRIGHT_MODEL_BASE_URL={stub.base_url}\n"
            "OPENAI_API_KEY=sk-only-in-dotenv-1234\n"
            f"CASEWRIGHT_DATA_DIR={tmp_path / 'data'}\n")
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENAI_API_KEY", "CASEWRIGHT_MODEL", "CASEWRIGHT_MODEL_BASE_URL", "CASEWRIGHT_DATA_DIR")}
        r = subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--source", "sample",
                            "--out", str(tmp_path / "o"), "--stories", "ER-2", "--format", "json"],
                           env=env, capture_output=True, text=True, cwd=tmp_path, timeout=180)
        assert r.returncode == 0, r.stderr
        assert "needs an API key" not in r.stderr
        assert stub.requests and all(q.authorization == "Bearer sk-only-in-dotenv-1234" for q in stub.requests)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert stored and b"sk-only-in-dotenv-1234" not in stored

"""Every provider string of the registry builds through init_chat_model, or says in one line what
to install or set; Azure OpenAI's endpoint, deployment and API version reach the server over HTTP."""

from __future__ import annotations

import importlib.util

import pytest

from agent.llm.provider import ModelConfigError, ModelOptions, ProviderKeys, build_chat_model, parse_model
from agent.llm.registry import PROVIDERS, context_window
from agent.llm.schemas import CASES_SCHEMA
from agent.llm.structured import StructuredCaller
from connectors.emulators.openai_chat import OpenAIStub
from connectors.settings import Settings

# every required setting filled, so that only the extra can be missing
_FULL_KEYS = ProviderKeys(openai_api_key="sk-o", anthropic_api_key="sk-a", azure_openai_api_key="az",
                          google_api_key="g", mistral_api_key="m", groq_api_key="q",
                          azure_openai_endpoint="http://127.0.0.1:9", azure_openai_api_version="2024-10-21",
                          aws_region="eu-west-1")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_provider_builds_or_names_its_extra(provider):
    row = PROVIDERS[provider]
    options = ModelOptions.of(f"{provider}:some-model", {"model_base_url": "http://127.0.0.1:9/v1"})
    if _installed(row.module):
        model = build_chat_model(options, keys=_FULL_KEYS)
        assert type(model).__module__.startswith(row.module)
        assert "sk-" not in repr(model)
    else:
        with pytest.raises(ModelConfigError) as err:
            build_chat_model(options, keys=_FULL_KEYS)
        line = str(err.value)
        assert f"pip install 'casewright[{row.extra}]'" in line and "\n" not in line


@pytest.mark.parametrize("provider", [p for p, row in sorted(PROVIDERS.items()) if row.required])
def test_each_required_setting_is_one_line(provider):
    row = PROVIDERS[provider]
    for name in row.required:
        keys = ProviderKeys(**{k: v for k, v in vars(_FULL_KEYS).items() if k != name})
        base = None if name == "model_base_url" else "http://127.0.0.1:9/v1"
        with pytest.raises(ModelConfigError) as err:
            build_chat_model(ModelOptions.of(f"{provider}:m", {"model_base_url": base}), keys=keys)
        assert "set " in str(err.value) and "\n" not in str(err.value)


def test_azure_settings_reach_the_server(monkeypatch):
    with OpenAIStub() as stub:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-secret")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", stub.base_url.removesuffix("/v1"))
        monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-21")
        monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "uat-writer")
        keys = ProviderKeys.from_settings(Settings())
        assert "az-secret" not in repr(keys)
        spec = parse_model("azure_openai:gpt-4.1-mini")
        model = build_chat_model(ModelOptions.of(spec.label), spec, keys=keys)
        caller = StructuredCaller(model, CASES_SCHEMA, "json_schema")
        from langchain_core.messages import HumanMessage

        reply, _ = caller([HumanMessage('<story key="ER-2">Summary: s</story>\n- [ER-2/AC-1] a thing happens')])
        assert reply.error is None and reply.parsed["cases"]
        sent = stub.requests[-1]
        assert sent.path == "/openai/deployments/uat-writer/chat/completions"
        assert sent.query.get("api-version") == "2024-10-21"
        assert sent.api_key == "az-secret" and sent.form == "json_schema"


def test_auto_structured_method_is_the_providers_best():
    from agent.llm.provider import structured_method

    for provider, row in PROVIDERS.items():
        assert structured_method(parse_model(f"{provider}:m")) == row.methods[0]
    assert PROVIDERS["anthropic"].methods[0] == "function_calling"


def test_context_windows_of_known_families():
    assert context_window("gpt-4o-mini") == 128_000
    assert context_window("anthropic.claude-3-5-sonnet") == 200_000
    assert context_window("something-unknown") == 8_192
    assert context_window("gpt-4o", 4096) == 4096

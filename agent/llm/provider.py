"""Which language model generates: `CASEWRIGHT_MODEL=provider:model` -> a langchain chat model.

    rules                       the deterministic generator (no model; the default)
    openai:gpt-4.1-mini         OpenAI (OPENAI_API_KEY); CASEWRIGHT_MODEL_BASE_URL for a proxy
    anthropic:claude-sonnet-4-5 Anthropic (ANTHROPIC_API_KEY); extra `casewright[anthropic]`
    ollama:llama3.1             a local Ollama server (OLLAMA_HOST or CASEWRIGHT_MODEL_BASE_URL);
                                extra `casewright[ollama]`
    openai-compatible:NAME      any server speaking the OpenAI chat API (vLLM, LM Studio,
                                llama.cpp server, a fine-tuned model): CASEWRIGHT_MODEL_BASE_URL,
                                key from OPENAI_API_KEY when the server wants one

Temperature, max tokens, timeout and retries come from the settings; the concurrency limit is
applied by the graph (`max_concurrency`). A missing extra or key is a CasewrightError of one
line that says what to install or set.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from agent.configuration import LLM_OPTIONS
from connectors.errors import CasewrightError

PROVIDERS = ("openai", "anthropic", "ollama", "openai-compatible")
RULES = "rules"

# How each provider is best asked for structured output (langchain's `with_structured_output`).
DEFAULT_METHOD = {
    "openai": "json_schema",
    "openai-compatible": "json_schema",
    "anthropic": "function_calling",
    "ollama": "json_schema",
}
METHODS = ("auto", "json_schema", "function_calling", "json_mode", "prompt")


@dataclass(frozen=True)
class ModelOptions:
    """Everything build_chat_model reads: the model name plus LLM_OPTIONS."""

    model: str
    model_base_url: str | None = None
    temperature: float = 0.2
    max_tokens: int = 4096
    llm_timeout_s: float = 120.0
    llm_retries: int = 2
    structured_output: str = "auto"
    price_input_per_mtok: float | None = None
    price_output_per_mtok: float | None = None

    @classmethod
    def of(cls, model: str, options: dict[str, Any] | None = None) -> "ModelOptions":
        """The options a run carries (Configuration.llm); any it lacks take their defaults."""
        given = options or {}
        return cls(model=model, **{name: given.get(name, default) for name, default in LLM_OPTIONS.items()})


@dataclass(frozen=True)
class ProviderKeys:
    """The model providers' credentials (and the Ollama host), from the settings. They reach the
    chat model when it is built and are never part of a run's configuration, which is saved."""

    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    ollama_host: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "ProviderKeys":
        def secret(value: Any) -> str | None:
            value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            return (str(value).strip() or None) if value is not None else None

        return cls(openai_api_key=secret(getattr(settings, "openai_api_key", None)),
                   anthropic_api_key=secret(getattr(settings, "anthropic_api_key", None)),
                   ollama_host=secret(getattr(settings, "ollama_host", None)))


class ModelConfigError(CasewrightError, ValueError):
    """CASEWRIGHT_MODEL names something casewright cannot use as configured."""


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_model(value: str | None) -> ModelSpec | None:
    """`provider:model` -> ModelSpec; `rules` (or empty) -> None, meaning the deterministic generator."""
    text = (value or "").strip()
    if not text or text.lower() == RULES:
        return None
    provider, sep, name = text.partition(":")
    provider = provider.strip().lower()
    name = name.strip()
    if not sep or not name:
        raise ModelConfigError(
            f"CASEWRIGHT_MODEL={text!r} is not provider:model; use rules, "
            + ", ".join(f"{p}:MODEL" for p in PROVIDERS))
    if provider not in PROVIDERS:
        raise ModelConfigError(
            f"CASEWRIGHT_MODEL provider {provider!r} is unknown; use one of: rules, {', '.join(PROVIDERS)}")
    return ModelSpec(provider, name)


def structured_method(spec: ModelSpec, configured: str = "auto") -> str:
    method = (configured or "auto").strip().lower()
    if method not in METHODS:
        raise ModelConfigError(f"structured output method {method!r} is unknown; use one of: {', '.join(METHODS)}")
    return DEFAULT_METHOD[spec.provider] if method == "auto" else method


def _import(module: str, extra: str, spec: ModelSpec) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelConfigError(
            f"CASEWRIGHT_MODEL={spec.label} needs {module.replace('_', '-')}: "
            f"pip install 'casewright[{extra}]'") from None


def _key(value: str | None, env: str, spec: ModelSpec) -> str:
    if not value:
        raise ModelConfigError(f"CASEWRIGHT_MODEL={spec.label} needs an API key: set {env} "
                               "(in the environment or .env)")
    return value


def build_chat_model(settings: ModelOptions, spec: ModelSpec | None = None, *,
                     keys: ProviderKeys | None = None) -> Any:
    """The langchain chat model for settings.model (ModelOptions), or None for `rules`.
    Keys and the Ollama host come from `keys`, never from the options."""
    keys = keys or ProviderKeys()
    spec = spec or parse_model(settings.model)
    if spec is None:
        return None
    common = {"temperature": settings.temperature, "max_retries": settings.llm_retries}
    base_url = settings.model_base_url
    if spec.provider in ("openai", "openai-compatible"):
        module = _import("langchain_openai", "openai", spec)
        if spec.provider == "openai-compatible":
            if not base_url:
                raise ModelConfigError(
                    f"CASEWRIGHT_MODEL={spec.label} needs the server's address: set CASEWRIGHT_MODEL_BASE_URL "
                    "(e.g. http://localhost:8000/v1)")
            api_key = keys.openai_api_key or "not-needed"
        else:
            api_key = _key(keys.openai_api_key, "OPENAI_API_KEY", spec)
        return module.ChatOpenAI(model=spec.name, api_key=api_key, base_url=base_url or None,
                                 max_tokens=settings.max_tokens, timeout=settings.llm_timeout_s, **common)
    if spec.provider == "anthropic":
        module = _import("langchain_anthropic", "anthropic", spec)
        kwargs: dict[str, Any] = {"api_key": _key(keys.anthropic_api_key, "ANTHROPIC_API_KEY", spec)}
        if base_url:
            kwargs["base_url"] = base_url
        return module.ChatAnthropic(model=spec.name, max_tokens=settings.max_tokens,
                                    default_request_timeout=settings.llm_timeout_s, **kwargs, **common)
    # ollama: local, no key; the server's address from settings or OLLAMA_HOST
    module = _import("langchain_ollama", "ollama", spec)
    host = base_url or keys.ollama_host or None
    return module.ChatOllama(model=spec.name, base_url=host, temperature=settings.temperature,
                             num_predict=settings.max_tokens,
                             client_kwargs={"timeout": settings.llm_timeout_s})


def describe_config_failure(exc: BaseException, spec: ModelSpec) -> str | None:
    """One line for an API failure a person must fix (401/403/404), else None."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return f"the {spec.provider} API refused the credentials for {spec.label} (HTTP {status}); check the API key"
    if status == 404:
        return f"the {spec.provider} API does not know model {spec.name!r} (HTTP 404); check CASEWRIGHT_MODEL"
    return None

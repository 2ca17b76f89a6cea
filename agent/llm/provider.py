"""Which language model generates: `CASEWRIGHT_MODEL=provider:model` -> a langchain chat model.

`rules` (the default) is the deterministic generator, no model. Every other provider in
agent/llm/registry.py (openai, openai-compatible, azure_openai, anthropic, google_genai,
bedrock_converse, mistralai, groq, ollama) is built by langchain's `init_chat_model`, with the
temperature, max tokens, timeout and retries from the settings and the credentials from
ProviderKeys. A missing extra, key or address is a CasewrightError of one line that says what to
install or set. The concurrency limit is applied by the graph (`max_concurrency`), the request
and token rates by agent/llm/limits.py.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from agent.configuration import LLM_OPTIONS
from agent.llm.registry import PROVIDERS as REGISTRY
from agent.llm.registry import SETTING_NAMES
from connectors.errors import CasewrightError

PROVIDERS = tuple(REGISTRY)
RULES = "rules"
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
    model_context_tokens: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: int | None = None
    criteria_per_call: int = 40

    @classmethod
    def of(cls, model: str, options: dict[str, Any] | None = None) -> "ModelOptions":
        """The options a run carries (Configuration.llm); any it lacks take their defaults."""
        given = options or {}
        return cls(model=model, **{name: given.get(name, default) for name, default in LLM_OPTIONS.items()})


_SECRETS = ("openai_api_key", "anthropic_api_key", "azure_openai_api_key", "google_api_key",
            "mistral_api_key", "groq_api_key")
_PLAIN = ("ollama_host", "azure_openai_endpoint", "azure_openai_api_version", "azure_openai_deployment",
          "aws_region")


@dataclass(frozen=True)
class ProviderKeys:
    """The model providers' credentials and addresses, from the settings. They reach the chat
    model when it is built and are never part of a run's configuration, which is saved."""

    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    azure_openai_api_key: str | None = field(default=None, repr=False)
    google_api_key: str | None = field(default=None, repr=False)
    mistral_api_key: str | None = field(default=None, repr=False)
    groq_api_key: str | None = field(default=None, repr=False)
    ollama_host: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_version: str | None = None
    azure_openai_deployment: str | None = None
    aws_region: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "ProviderKeys":
        def text(value: Any) -> str | None:
            value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            return (str(value).strip() or None) if value is not None else None

        return cls(**{name: text(getattr(settings, name, None)) for name in (*_SECRETS, *_PLAIN)})


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
    """The configured method, or for `auto` the provider's best one (the registry's table)."""
    method = (configured or "auto").strip().lower()
    if method not in METHODS:
        raise ModelConfigError(f"structured output method {method!r} is unknown; use one of: {', '.join(METHODS)}")
    if method != "auto":
        return method
    row = REGISTRY.get(spec.provider)
    return row.methods[0] if row else "function_calling"


def _require_installed(module: str, extra: str, spec: ModelSpec) -> None:
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ModelConfigError(f"CASEWRIGHT_MODEL={spec.label} needs {module.replace('_', '-')}: "
                               f"pip install 'casewright[{extra}]'")


def _provider_kwargs(settings: ModelOptions, spec: ModelSpec, keys: ProviderKeys) -> dict[str, Any]:
    """init_chat_model's keyword arguments for one provider."""
    base_url = settings.model_base_url or None
    common: dict[str, Any] = {"temperature": settings.temperature, "max_retries": settings.llm_retries}
    sized = {**common, "max_tokens": settings.max_tokens, "timeout": settings.llm_timeout_s}
    p = spec.provider
    if p == "openai":
        return {**sized, "api_key": keys.openai_api_key, "base_url": base_url}
    if p == "openai-compatible":
        # langchain-openai sends the limit as `max_completion_tokens` only; servers that know just
        # the older `max_tokens` (llama-cpp-python's) ignore it and answer until the context is full
        return {**sized, "api_key": keys.openai_api_key or "not-needed", "base_url": base_url,
                "extra_body": {"max_tokens": settings.max_tokens}}
    if p == "azure_openai":
        return {**sized, "api_key": keys.azure_openai_api_key, "azure_endpoint": keys.azure_openai_endpoint,
                "api_version": keys.azure_openai_api_version,
                "azure_deployment": keys.azure_openai_deployment or spec.name}
    if p == "anthropic":
        return {**sized, "api_key": keys.anthropic_api_key, **({"base_url": base_url} if base_url else {})}
    if p == "google_genai":
        return {**sized, "google_api_key": keys.google_api_key}
    if p == "bedrock_converse":
        return {**common, "max_tokens": settings.max_tokens, "region_name": keys.aws_region}
    if p == "mistralai":
        return {**sized, "api_key": keys.mistral_api_key, **({"endpoint": base_url} if base_url else {})}
    if p == "groq":
        return {**sized, "api_key": keys.groq_api_key, **({"base_url": base_url} if base_url else {})}
    # ollama: local, no key; the server's address from settings or OLLAMA_HOST
    return {"temperature": settings.temperature, "num_predict": settings.max_tokens,
            "base_url": base_url or keys.ollama_host, "client_kwargs": {"timeout": settings.llm_timeout_s}}


def build_chat_model(settings: ModelOptions, spec: ModelSpec | None = None, *,
                     keys: ProviderKeys | None = None, rate_limiter: Any = None) -> Any:
    """The langchain chat model for settings.model (ModelOptions), or None for `rules`.
    Keys and addresses come from `keys`, never from the options."""
    keys = keys or ProviderKeys()
    spec = spec or parse_model(settings.model)
    if spec is None:
        return None
    row = REGISTRY[spec.provider]
    for name in row.required:
        value = settings.model_base_url if name == "model_base_url" else getattr(keys, name)
        if not value:
            what = "the server's address" if name == "model_base_url" else (
                "an API key" if name.endswith("api_key") else "a setting")
            raise ModelConfigError(f"CASEWRIGHT_MODEL={spec.label} needs {what}: set {SETTING_NAMES[name]} "
                                   "(in the environment or .env)")
    _require_installed(row.module, row.extra, spec)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ModelConfigError("model generation needs langchain: pip install casewright "
                               "(it is a base dependency)") from None
    kwargs = _provider_kwargs(settings, spec, keys)
    if rate_limiter is not None:
        kwargs["rate_limiter"] = rate_limiter
    try:
        return init_chat_model(spec.name, model_provider=row.langchain, **kwargs)
    except ImportError as exc:  # a dependency of the integration itself is missing
        raise ModelConfigError(f"CASEWRIGHT_MODEL={spec.label} cannot load {row.module} ({exc}): "
                               f"pip install 'casewright[{row.extra}]'") from None


def describe_config_failure(exc: BaseException, spec: ModelSpec) -> str | None:
    """One line for an API failure a person must fix (401/403/404), else None."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return f"the {spec.provider} API refused the credentials for {spec.label} (HTTP {status}); check the API key"
    if status == 404:
        return f"the {spec.provider} API does not know model {spec.name!r} (HTTP 404); check CASEWRIGHT_MODEL"
    return None

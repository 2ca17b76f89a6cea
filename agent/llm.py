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
import os
from dataclasses import dataclass
from typing import Any

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


# The model options a run carries in its configuration (names as in casewright.settings), with
# the defaults used when a run does not set them.
LLM_OPTIONS: dict[str, Any] = {
    "model_base_url": None,
    "temperature": 0.2,
    "max_tokens": 4096,
    "llm_timeout_s": 120.0,
    "llm_retries": 2,
    "structured_output": "auto",
    "price_input_per_mtok": None,
    "price_output_per_mtok": None,
}


# The environment variables behind LLM_OPTIONS (as in casewright.settings), read when a run's
# configuration does not carry an option (e.g. a job built before the option existed).
_OPTION_ENV = {
    "model_base_url": "CASEWRIGHT_MODEL_BASE_URL",
    "temperature": "CASEWRIGHT_TEMPERATURE",
    "max_tokens": "CASEWRIGHT_MAX_TOKENS",
    "llm_timeout_s": "CASEWRIGHT_LLM_TIMEOUT",
    "llm_retries": "CASEWRIGHT_LLM_RETRIES",
    "structured_output": "CASEWRIGHT_STRUCTURED_OUTPUT",
    "price_input_per_mtok": "CASEWRIGHT_PRICE_INPUT_PER_MTOK",
    "price_output_per_mtok": "CASEWRIGHT_PRICE_OUTPUT_PER_MTOK",
}
_OPTION_TYPES = {"temperature": float, "max_tokens": int, "llm_timeout_s": float, "llm_retries": int,
                 "price_input_per_mtok": float, "price_output_per_mtok": float}


def _from_env(name: str) -> Any:
    raw = os.environ.get(_OPTION_ENV[name], "").strip()
    if not raw:
        return LLM_OPTIONS[name]
    convert = _OPTION_TYPES.get(name, str)
    try:
        return convert(raw)
    except ValueError:
        raise ModelConfigError(f"{_OPTION_ENV[name]}={raw!r} is not a valid {convert.__name__}") from None


def llm_options(source: Any) -> dict[str, Any]:
    """The LLM_OPTIONS read off a settings object (or a dict), for Configuration.llm."""
    get = source.get if isinstance(source, dict) else (lambda name, default: getattr(source, name, default))
    return {name: get(name, default) for name, default in LLM_OPTIONS.items()}


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
        """The options a run carries; any it lacks come from the environment, then the defaults."""
        given = {k: v for k, v in (options or {}).items() if k in LLM_OPTIONS}
        merged = {name: given[name] if name in given else _from_env(name) for name in LLM_OPTIONS}
        return cls(model=model, **merged)


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


# Provider credentials: the casewright.settings field behind each environment variable. They are
# read when the chat model is built (environment first, then the settings, i.e. `.env`) and are
# never part of ModelOptions or a run's configuration, which is checkpointed to disk.
_SECRET_FIELDS = {"OPENAI_API_KEY": "openai_api_key", "ANTHROPIC_API_KEY": "anthropic_api_key",
                  "OLLAMA_HOST": "ollama_host"}


def _settings_value(env: str, secrets: Any = None) -> str:
    """The value of a provider credential: the process environment, else `secrets` (a Settings
    object), else casewright's settings (which also read `.env`)."""
    value = os.environ.get(env, "").strip()
    if value:
        return value
    if secrets is None:  # read afresh (environment + .env), not a settings object cached earlier
        from casewright.settings import load_settings  # noqa: PLC0415 - the one settings class; a leaf module

        secrets = load_settings()
    got = getattr(secrets, _SECRET_FIELDS[env], None)
    if got is not None and hasattr(got, "get_secret_value"):
        got = got.get_secret_value()
    return str(got or "").strip()


def _key(env: str, spec: ModelSpec, secrets: Any = None) -> str:
    value = _settings_value(env, secrets)
    if not value:
        raise ModelConfigError(f"CASEWRIGHT_MODEL={spec.label} needs an API key: set {env} "
                               "(in the environment or .env)")
    return value


def build_chat_model(settings: Any, spec: ModelSpec | None = None, *, secrets: Any = None) -> Any:
    """The langchain chat model for settings.model (ModelOptions), or None for `rules`.
    Keys and the Ollama host come from the environment or `secrets` (casewright Settings; by
    default casewright's own settings, so `.env` works), never from the options."""
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
            api_key = _settings_value("OPENAI_API_KEY", secrets) or "not-needed"
        else:
            api_key = _key("OPENAI_API_KEY", spec, secrets)
        return module.ChatOpenAI(model=spec.name, api_key=api_key, base_url=base_url or None,
                                 max_tokens=settings.max_tokens, timeout=settings.llm_timeout_s, **common)
    if spec.provider == "anthropic":
        module = _import("langchain_anthropic", "anthropic", spec)
        kwargs: dict[str, Any] = {"api_key": _key("ANTHROPIC_API_KEY", spec, secrets)}
        if base_url:
            kwargs["base_url"] = base_url
        return module.ChatAnthropic(model=spec.name, max_tokens=settings.max_tokens,
                                    default_request_timeout=settings.llm_timeout_s, **kwargs, **common)
    # ollama: local, no key; the server's address from settings or OLLAMA_HOST
    module = _import("langchain_ollama", "ollama", spec)
    host = base_url or _settings_value("OLLAMA_HOST", secrets) or None
    return module.ChatOllama(model=spec.name, base_url=host, temperature=settings.temperature,
                             num_predict=settings.max_tokens,
                             client_kwargs={"timeout": settings.llm_timeout_s})


def is_transient(exc: BaseException) -> bool:
    """An API failure worth falling back from (rate limit, server error, timeout), as opposed to
    a configuration problem (bad key, unknown model) that must stop the run."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status == 408 or status == 429 or status >= 500
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}  # subclasses such as OpenAIConnectionError count too
    return bool(names & {"APITimeoutError", "APIConnectionError", "Timeout", "ReadTimeout", "ConnectError",
                         "ConnectTimeout", "RemoteProtocolError", "APIResponseValidationError", "TimeoutError",
                         "ConnectionError"}) or name.endswith(("ConnectionError", "TimeoutError"))


def describe_config_failure(exc: BaseException, spec: ModelSpec) -> str | None:
    """One line for an API failure a person must fix (401/403/404), else None."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        return f"the {spec.provider} API refused the credentials for {spec.label} (HTTP {status}); check the API key"
    if status == 404:
        return f"the {spec.provider} API does not know model {spec.name!r} (HTTP 404); check CASEWRIGHT_MODEL"
    return None

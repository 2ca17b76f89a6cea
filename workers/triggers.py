"""Which Jira webhook deliveries start a job, and for which epic.

A delivery goes through, in order: signature (when `CASEWRIGHT_WEBHOOK_SECRET` is set,
`X-Hub-Signature: sha256=<HMAC-SHA256 of the raw body>`, compared in constant time) -> shape
(`validate_payload`: a Jira issue webhook, else 400) -> filters (`decide`: event, project, issue
type, labels, status, which fields changed) -> the epic of the issue -> de-duplication by
delivery id together with queueing (workers/dedupe.py, workers/jobs.py: one Redis round trip).
workers/api.py runs them in that order; everything before the last step reads no Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from connectors.errors import CasewrightError
from connectors.jira_keys import InvalidKeyError, check_issue_key
from connectors.settings import Settings
from connectors.workspace import epic_of_issue

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated")
# Fields whose change means the cases may be out of date (besides the AC field and status).
_CONTENT_FIELDS = {"description", "summary", "parent", "epic link", "issueparentassociation", "epic child"}


@dataclass(frozen=True)
class Decision:
    accept: bool
    reason: str = ""
    epic_key: str | None = None
    issue_key: str | None = None


def _lower(values: list[str]) -> set[str]:
    return {v.strip().lower() for v in values if v and v.strip()}


def validate_payload(payload: Any) -> dict[str, Any]:
    """A Jira webhook body in the shape the service's OpenAPI document gives it (workers/api_models.py),
    or CasewrightError saying what is wrong. `issue` is required for jira:issue_* events and, when
    present, must be a real issue (key, fields); its key and parent key must be Jira keys."""
    if not isinstance(payload, dict) or not isinstance(payload.get("webhookEvent"), str):
        raise CasewrightError("not a Jira webhook: the JSON body needs a 'webhookEvent' string")
    timestamp = payload.get("timestamp")
    if timestamp is not None and (not isinstance(timestamp, int) or isinstance(timestamp, bool)):
        raise CasewrightError("not a Jira webhook: 'timestamp' must be an integer (milliseconds)")
    if not isinstance(payload.get("issue_event_type_name", ""), str):
        raise CasewrightError("not a Jira webhook: 'issue_event_type_name' must be a string")
    issue = payload.get("issue")
    if issue is not None or payload["webhookEvent"].startswith("jira:issue_"):
        if not isinstance(issue, dict) or not issue.get("key") or not isinstance(issue.get("fields"), dict):
            raise CasewrightError("not a Jira issue webhook: 'issue' needs a 'key' and a 'fields' object")
        issue["key"] = _payload_key(issue["key"], "issue.key")
        parent = issue["fields"].get("parent")
        if parent is not None:
            if not isinstance(parent, dict):
                raise CasewrightError("not a Jira issue webhook: 'issue.fields.parent' must be an object")
            if parent.get("key") is not None:
                parent["key"] = _payload_key(parent["key"], "issue.fields.parent.key")
    changelog = payload.get("changelog")
    if changelog is not None:
        items = changelog.get("items", []) if isinstance(changelog, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise CasewrightError("not a Jira issue webhook: 'changelog' must be an object whose 'items' "
                                  "is a list of objects")
    return payload


def _payload_key(value: Any, where: str) -> str:
    """A key from the delivery in canonical form; a value that is not a key is refused (400),
    never put into a Jira path or JQL."""
    try:
        return check_issue_key(value, f"the webhook's {where}")
    except InvalidKeyError as err:
        raise InvalidKeyError(f"{err}; the delivery was not processed") from None


def epic_of(issue: dict[str, Any], settings: Settings) -> str | None:
    """The epic an issue belongs to (Data Center sends the Epic Link custom field by id only)."""
    return epic_of_issue(issue, any_key_field=settings.epic_link_mode != "parent")


def decide(payload: dict[str, Any], settings: Settings) -> Decision:
    """Whether a delivery should start a job, and for which epic."""
    event = payload.get("webhookEvent", "")
    if event not in ISSUE_EVENTS:
        return Decision(False, f"event {event} is not an issue create or update")
    issue = payload["issue"]
    key = str(issue["key"])
    fields = issue["fields"]
    project = str((fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0])
    if settings.webhook_projects and project.lower() not in _lower(settings.webhook_projects):
        return Decision(False, f"project {project} is not in CASEWRIGHT_WEBHOOK_PROJECTS", issue_key=key)
    itype = str((fields.get("issuetype") or {}).get("name", ""))
    if settings.webhook_issue_types and itype.lower() not in _lower(settings.webhook_issue_types):
        return Decision(False, f"issue type {itype or '?'} is not in CASEWRIGHT_WEBHOOK_ISSUE_TYPES", issue_key=key)
    labels = _lower([str(x) for x in fields.get("labels") or []])
    if settings.webhook_labels and not labels & _lower(settings.webhook_labels):
        return Decision(False, "the issue has none of CASEWRIGHT_WEBHOOK_LABELS", issue_key=key)
    statuses = _lower(settings.webhook_statuses)
    status = str((fields.get("status") or {}).get("name", ""))
    if statuses and status.lower() not in statuses:
        return Decision(False, f"status {status or '?'} is not in CASEWRIGHT_WEBHOOK_STATUSES", issue_key=key)
    if event == "jira:issue_created" and itype.lower() == "epic":
        return Decision(False, "a new epic has no stories yet; its stories' webhooks start the job", issue_key=key)
    if event == "jira:issue_updated":
        changed = relevant_changes(payload, settings)
        if not changed:
            return Decision(False, "no change to the acceptance criteria, description, summary, "
                                   "parent or a watched status", issue_key=key)
    epic = epic_of(issue, settings)
    if not epic:
        return Decision(False, f"{key} belongs to no epic", issue_key=key)
    epic = _payload_key(epic, "epic key")
    return Decision(True, epic_key=epic, issue_key=key)


def relevant_changes(payload: dict[str, Any], settings: Settings) -> list[str]:
    """Names of the changelog items that can change the cases."""
    items = ((payload.get("changelog") or {}).get("items")) or []
    ac = settings.ac_field_name.strip().lower()
    statuses = _lower(settings.webhook_statuses)
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("field", "")).strip().lower()
        fid = str(item.get("fieldId", "")).strip().lower()
        if name == ac or name in _CONTENT_FIELDS or fid in _CONTENT_FIELDS:
            out.append(item.get("field", name))
        elif name == "status" and statuses and str(item.get("toString", "")).lower() in statuses:
            out.append("status")
        elif name == "labels" and settings.webhook_labels:
            added = _lower(str(item.get("toString") or "").split()) - _lower(str(item.get("fromString") or "").split())
            if added & _lower(settings.webhook_labels):
                out.append("labels")
    return out


SIGNATURE_PATTERN = "^sha256=[0-9a-fA-F]{64}$"
"""The form of X-Hub-Signature (the OpenAPI document gives the same pattern)."""


def signature_well_formed(header: str) -> bool:
    return re.fullmatch(SIGNATURE_PATTERN, header.strip()) is not None


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    algo, _, digest = header.strip().partition("=")
    if algo.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())



"""What the test-management connectors (Xray, Zephyr Scale, TestRail) write and read back, in
terms that are the same for every tool, and what they share:

- `ManagedCase`: a case as a write-back target hands it to a connector: content (title,
  objective, preconditions, steps, priority, type, labels, custom fields), the story it verifies,
  and the identity record stored IN the tool with it (so a rerun from a machine with no local
  state finds what it wrote);
- `StoredCase`: a case as a connector read it back: its id in the tool, the identity record, its
  content in the tool's own field names (the same shape the connector's `native(case)` gives, so a
  target can hash both alike to tell a person's edits), whether it is retired, its stories;
- how identity records are written into a text field and read back, the label every casewright
  case carries, and `create_once`: a create that, when its answer was lost, looks for what it may
  have made before sending again, so a retry never duplicates a case.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from connectors.atlassian_http import RetryPolicy, Service, TransientError, call

LABEL = "casewright"                    # every case casewright writes carries it
RETIRED_LABEL = "casewright-retired"    # Xray and Zephyr mark a retired case with it
PENDING_LABEL = "casewright-incomplete"  # a case whose create did not finish (steps or link still to write)
IDENTITY_PROPERTY = "casewright.case"   # the Jira issue property holding an Xray test's identity record
T = TypeVar("T")


@dataclass(frozen=True)
class CaseStep:
    action: str
    data: str = ""
    expected: str = ""


@dataclass
class ManagedCase:
    title: str
    story_key: str
    steps: list[CaseStep] = field(default_factory=list)
    objective: str = ""
    preconditions: list[str] = field(default_factory=list)
    priority: str | None = None       # the tool's priority name (the house template maps case priorities)
    case_type: str | None = None      # TestRail's case type name (e.g. "Acceptance")
    labels: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)  # TestRail system names / Zephyr field names
    identity: dict[str, Any] = field(default_factory=dict)       # stored in the tool, JSON-serialisable
    story_id: str | None = None       # the story's numeric Jira issue id (Zephyr links by it)


@dataclass
class StoredCase:
    id: str                            # Xray/Jira issue key, Zephyr test case key, TestRail case id
    identity: dict[str, Any] | None    # None: the stored record is missing or unreadable
    content: dict[str, Any]            # the tool's fields casewright compares, as `native()` shapes them
    retired: bool = False
    complete: bool = True              # False: its create stopped part-way; `update()` finishes it
    story_keys: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the tool's own object, for diagnostics


def one_line(text: str, limit: int = 255) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def encode_identity(record: dict[str, Any]) -> str:
    """The identity record as the text stored in a tool's custom field (stable: sorted keys)."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode_identity(text: Any) -> dict[str, Any] | None:
    """The record back from a field's text (None when empty, edited into something else, or not JSON)."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = json.loads(text.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def matching(stored: list[StoredCase], identity: dict[str, Any]) -> list[StoredCase]:
    """The stored cases whose identity record holds every key/value of `identity`."""
    return [s for s in stored if s.identity is not None and all(s.identity.get(k) == v for k, v in identity.items())]


def create_once(send: Callable[[], T], lookup: Callable[[], str | None], *, what: str, service: Service,
                policy: RetryPolicy, url: str, sleep: Callable[[float], None] = time.sleep) -> tuple[T | None, str | None]:
    """Send a create; on a failure that may have been applied (5xx, a lost connection), ask `lookup`
    whether the object exists before sending again. Returns (the answer, None) or (None, existing id)."""
    attempt = 0
    while True:
        attempt += 1
        if attempt > 1:
            existing = call(lookup, what=f"look for what an earlier attempt to {what} made", service=service,
                            policy=policy, url=url, sleep=sleep)
            if existing:
                return None, existing
        try:
            return call(send, what=what, service=service, policy=RetryPolicy(attempts=1), url=url, sleep=sleep), None
        except TransientError as exc:
            if attempt >= policy.attempts:
                raise TransientError(f"{service.name} kept failing while trying to {what} ({attempt} attempts): "
                                     f"{exc}", exc.status) from None
            wait = exc.retry_after if exc.retry_after is not None else policy.backoff(attempt)
            sleep(min(wait, policy.max_wait_s))

"""What casewright and Celery exchange through Redis, readable and writable without importing
Celery (~0.3 s): the task and queue names, the task message a worker consumes, and the result
record a worker writes.

`casewright enqueue`, `POST /jobs` and the webhook queue a job by pushing `task_message(...)` onto
the queue's list inside the admission script of workers/jobs.py (one round trip, atomic with the
epic's queued slot); `casewright status` and `GET /jobs/{id}` read `read_task_meta(...)` of the
result record in the same round trip as the job record. The formats are Celery's own:

* the message: Celery's task protocol 2 (headers, a JSON body `[args, kwargs, embed]`) inside
  kombu's Redis-transport envelope (body base64, `properties.delivery_info` with the default
  exchange and the queue as routing key), pushed with LPUSH as kombu does for priority 0;
* the result: the Redis result backend's `celery-task-meta-<id>` JSON record.

workers/celery_app.py configures the app with the same names and key prefix, and
tests/workers/test_celery_wire.py compares both formats with what Celery itself writes and reads,
so a Celery upgrade that changed them fails there.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.settings import Settings

TASK_GENERATE = "casewright.generate_epic"
TASK_SYNC_KNOWLEDGE = "casewright.sync_knowledge"
TASK_SWEEP = "casewright.nightly_sweep"

FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED")
"""Celery states after which a job changes no more."""

_TASK_META = "celery-task-meta-"
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"  # the name Celery gives a process that is no worker
_REPLY_TO = str(uuid.uuid4())


def key_prefix(settings: "Settings") -> str:
    """What Celery puts before each of its keys (`global_keyprefix`): the deployment's prefix."""
    return f"{settings.redis_prefix}:"


def queue_name(settings: "Settings") -> str:
    return f"{settings.redis_prefix}.jobs"


def queue_key(settings: "Settings") -> str:
    """The Redis list that holds the queue's messages (priority 0, the only one casewright uses)."""
    return key_prefix(settings) + queue_name(settings)


def visibility_timeout(settings: "Settings") -> int:
    """Seconds after which the broker gives an unacknowledged job to another worker."""
    if settings.broker_visibility_timeout_s:
        return settings.broker_visibility_timeout_s
    return settings.job_time_limit_s + 300


def task_meta_key(settings: "Settings", task_id: str) -> str:
    return key_prefix(settings) + _TASK_META + task_id


def task_message(task: str, task_id: str, kwargs: dict[str, Any], queue: str) -> str:
    """The broker message `app.send_task(task, kwargs=kwargs, task_id=task_id)` would push."""
    headers = {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
        "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
        "root_id": task_id, "parent_id": None, "argsrepr": "()", "kwargsrepr": repr(kwargs),
        "origin": _ORIGIN, "ignore_result": None, "replaced_task_nesting": 0,
        "stamped_headers": None, "stamps": {},
    }
    body = json.dumps([[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return json.dumps({
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id, "reply_to": _REPLY_TO, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    })


@dataclass(frozen=True)
class TaskMeta:
    """A task's state as Celery's AsyncResult reports it: `state`, and `info` (the PROGRESS
    meta or SUCCESS result as stored; for FAILURE, RETRY and REVOKED the exception's message,
    its class name in `exc_type`)."""

    state: str
    info: Any = None
    exc_type: str | None = None

    @property
    def error(self) -> str | None:
        """The stored exception as a person reads it: "TimeLimitExceeded: 300"; None if none."""
        if self.exc_type is None:
            return None
        return f"{self.exc_type}: {self.info}" if self.info else self.exc_type


def read_task_meta(raw: bytes | str | None) -> TaskMeta:
    """The result record's state; PENDING when there is none (not started, or expired)."""
    if not raw:
        return TaskMeta("PENDING")
    try:
        meta = json.loads(raw)
    except ValueError:
        return TaskMeta("PENDING")
    if not isinstance(meta, dict):
        return TaskMeta("PENDING")
    state = str(meta.get("status") or "PENDING")
    result = meta.get("result")
    if isinstance(result, dict) and "exc_type" in result and state not in ("SUCCESS", "PROGRESS"):
        return TaskMeta(state, exception_text(result), str(result.get("exc_type")))
    return TaskMeta(state, result)


def exception_text(stored: dict[str, Any]) -> str:
    """str() of the exception Celery stored as {exc_type, exc_message, exc_module}."""
    message = stored.get("exc_message")
    if isinstance(message, (list, tuple)):
        if len(message) == 1:
            return str(message[0])
        return str(tuple(message)) if message else ""
    return "" if message is None else str(message)

"""Jobs: what every trigger (webhook, `casewright enqueue`, `POST /jobs`, the sweep) calls to
queue a generate job, and what `GET /jobs/{id}` and `casewright status` read back.

`enqueue_generate` applies the one-epic-one-job rule (workers/locks.py) and keeps a small job
record in Redis (`{prefix}:job:{id}`) next to Celery's own result, so that a status request
can tell an unknown id from a queued job and say what triggered it. The job itself runs in
workers/tasks.py.

A worker that dies mid-job (SIGKILL, out of memory, a lost machine) cannot say so itself; the
status reads it from the epic's lock, which the running job renews from a heartbeat: a job whose
record says "running" while its epic's lock is gone (expired: no heartbeat for
`CASEWRIGHT_JOB_LOCK_TTL` seconds) is reported as WORKER_LOST, with when the broker will deliver
it again (the visibility timeout, workers/celery_app.py). A job delivered again shows that it is
waiting for its earlier execution's lock to expire, then runs with `executions` 2 and resumes
from its checkpoint.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import redis

from agent.configuration import WRITE_BACK_MODES, check_formats, check_write_back
from connectors.errors import CasewrightError
from connectors.jira_keys import check_issue_key
from connectors.settings import Settings, get_settings
from workers.celery_wire import (
    TASK_GENERATE,
    queue_key,
    queue_name,
    read_task_meta,
    task_message,
    task_meta_key,
    visibility_timeout,
)
from workers.dedupe import IGNORED, DeliveryDedupe
from workers.locks import EpicGate, queued_key

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
JOB_RECORD_TTL_S = 7 * 24 * 3600


# -- Redis handles -------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10,
                                health_check_interval=30)


def redis_client(settings: Settings) -> redis.Redis:
    return _client(settings.redis_url)


def queued_ttl_s(settings: Settings) -> int:
    """How long an epic's queued slot outlives a job that never started."""
    return max(2 * settings.job_time_limit_s, 600)


def epic_gate(settings: Settings, client: redis.Redis | None = None) -> EpicGate:
    return EpicGate(client or redis_client(settings), settings.redis_prefix,
                    lock_ttl_s=settings.job_lock_ttl_s, queued_ttl_s=queued_ttl_s(settings))


def job_key(settings: Settings, job_id: str) -> str:
    return f"{settings.redis_prefix}:job:{job_id}"


def epic_jobs_key(settings: Settings, epic_key: str) -> str:
    return f"{settings.redis_prefix}:epic:{epic_key}:jobs"


def metrics_key(prefix: str) -> str:
    return f"{prefix}:metrics:jobs"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- metrics shared by all processes (the API's /metrics reads them) -----------------------------
class JobMetrics:
    """Job counts by state and a duration histogram, kept in one Redis hash."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.key = metrics_key(prefix)

    def count(self, state: str, n: int = 1) -> None:
        try:
            self.client.hincrby(self.key, f"state:{state}", n)
        except redis.RedisError as err:  # metrics never fail a job
            log.warning("could not record job metric: %s", err)

    def observe(self, seconds: float) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hincrbyfloat(self.key, "duration:sum", seconds)
            pipe.hincrby(self.key, "duration:count", 1)
            for bound in DURATION_BUCKETS:
                if seconds <= bound:
                    pipe.hincrby(self.key, f"duration:le:{bound}", 1)
            pipe.execute()
        except redis.RedisError as err:
            log.warning("could not record job duration: %s", err)

    def snapshot(self) -> dict[str, float]:
        raw = self.client.hgetall(self.key)
        return {k.decode(): float(v) for k, v in raw.items()}


# -- enqueueing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Enqueued:
    """The job a trigger queued or joined; for a webhook delivery seen before (`duplicate`),
    the job its first delivery got (None when that one was ignored)."""

    job_id: str | None
    epic_key: str
    coalesced: bool
    duplicate: bool = False


def check_job_options(write_back: str | None, dry_run: bool, formats: list[str] | None,
                      default_mode: str) -> tuple[str, list[str] | None]:
    """The options of a job as every trigger gives them (`casewright enqueue`, `POST /jobs`):
    the write-back mode (`default_mode` when None) and the formats, checked by the functions
    `casewright generate` uses; CasewrightError says what is wrong."""
    if not isinstance(dry_run, bool):
        raise CasewrightError(f"dry_run must be true or false, not {dry_run!r:.40}")
    if write_back is not None and not isinstance(write_back, str):
        raise CasewrightError(f"write_back must be one of {', '.join(WRITE_BACK_MODES)}")
    mode = check_write_back(write_back if write_back is not None else default_mode, dry_run)
    return mode, (check_formats(formats) if formats is not None else None)


# One round trip admits a trigger: join the epic's queued job (counting the trigger), or push the
# new job's task message onto the broker queue and reserve the epic's queued slot for it, with its
# record, its place in the epic's job list and the "queued" metric. A webhook delivery also passes
# its de-duplication key (workers/dedupe.py): a delivery seen before changes nothing and gets its
# earlier outcome; a new one records the job it was queued as or joined. No other client runs
# between these commands (a worker cannot take the message before the record exists). Redis does
# not undo a script's earlier writes when a later command fails, so the push is the first write:
# if it fails (wrong key type, out of memory) nothing is written and no slot points at a job
# never queued.
# KEYS: queued slot, epic's job list, metrics hash, broker queue list[, delivery key].
# ARGV: new job id, slot TTL, job-record key prefix, record TTL, the task message, delivery TTL,
# the record's field/value pairs as one JSON array of strings (one argument instead of two dozen:
# redis-py packs each argument in Python). Returns {job id, 1 new | 0 joined | 2 duplicate}.
_ADMIT = """
local delivery = KEYS[5]
if delivery then
  local earlier = redis.call('GET', delivery)
  if earlier then
    return {earlier, 2}
  end
end
local current = redis.call('GET', KEYS[1])
if current then
  redis.call('HINCRBY', ARGV[3] .. current, 'triggers', 1)
  if delivery then
    redis.call('SET', delivery, current, 'EX', tonumber(ARGV[6]))
  end
  return {current, 0}
end
redis.call('LPUSH', KEYS[4], ARGV[5])
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
local record = ARGV[3] .. ARGV[1]
redis.call('HSET', record, unpack(cjson.decode(ARGV[7])))
redis.call('EXPIRE', record, tonumber(ARGV[4]))
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -200, -1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], 'state:queued', 1)
if delivery then
  redis.call('SET', delivery, ARGV[1], 'EX', tonumber(ARGV[6]))
end
return {ARGV[1], 1}
"""


@lru_cache(maxsize=16)
def _admit_script(client: redis.Redis):  # noqa: ANN202 - redis Script
    return client.register_script(_ADMIT)


@dataclass(frozen=True)
class _Admission:
    """One trigger's call of the admission script, prepared without touching Redis."""

    epic_key: str
    keys: list[str]
    args: list[Any]

    def outcome(self, reply: list[Any]) -> Enqueued:
        job, code = reply
        job = job.decode() if isinstance(job, bytes) else str(job)
        if code == 2:
            return Enqueued(None if job == IGNORED else job, self.epic_key, coalesced=False, duplicate=True)
        return Enqueued(job, self.epic_key, coalesced=code == 0)


def _admission(epic_key: str, s: Settings, *, trigger: str, source: str, write_back: str | None,
               dry_run: bool, formats: list[str] | None, detail: str,
               delivery: DeliveryDedupe | None, delivery_id: str) -> _Admission:
    epic_key = check_issue_key(epic_key, "epic key")
    mode, formats = check_job_options(write_back, dry_run, formats, s.write_back)
    new_id = str(uuid.uuid4())
    record = {
        "job_id": new_id, "epic_key": epic_key, "trigger": trigger, "detail": detail[:300],
        "source": source, "write_back": mode, "dry_run": int(dry_run),
        "formats": ",".join(formats or []), "enqueued_at": _now(), "phase": "queued",
        "triggers": 1, "executions": 0,
    }
    kwargs = {"epic_key": epic_key, "source": source, "write_back": mode,
              "dry_run": dry_run, "formats": formats, "attempt": 0}
    fields = [str(part) for pair in record.items() for part in pair]
    args: list[Any] = [new_id, queued_ttl_s(s), f"{s.redis_prefix}:job:", JOB_RECORD_TTL_S,
                       task_message(TASK_GENERATE, new_id, kwargs, queue_name(s)),
                       delivery.ttl_s if delivery else 0, json.dumps(fields)]
    keys = [queued_key(s.redis_prefix, epic_key), epic_jobs_key(s, epic_key), metrics_key(s.redis_prefix),
            queue_key(s)]
    if delivery is not None:
        keys.append(delivery.key(delivery_id))
    return _Admission(epic_key, keys, args)


def enqueue_generate(epic_key: str, *, settings: Settings | None = None,
                     trigger: str = "cli", source: str = "jira", write_back: str | None = None,
                     dry_run: bool = False, formats: list[str] | None = None,
                     detail: str = "", client: redis.Redis | None = None,
                     delivery: DeliveryDedupe | None = None, delivery_id: str = "") -> Enqueued:
    """Queue a generate job for the epic, or join the follow-up already queued for it.

    The epic's queued slot is the one-epic-one-job rule of workers/locks.py (EpicGate). The
    Celery task message (workers/celery_wire.py) is pushed by the same script that takes the
    slot, so the job is queued once with its slot and record or, when Redis fails, not at all.
    With `delivery` (a webhook's de-duplication) and `delivery_id`, a delivery seen before is
    answered `duplicate` with its earlier outcome, in the same round trip."""
    s = settings or get_settings()
    admission = _admission(epic_key, s, trigger=trigger, source=source, write_back=write_back, dry_run=dry_run,
                           formats=formats, detail=detail, delivery=delivery, delivery_id=delivery_id)
    client = client or redis_client(s)
    return admission.outcome(_admit_script(client)(keys=admission.keys, args=admission.args))


async def enqueue_generate_async(epic_key: str, *, settings: Settings, client: "aioredis.Redis",
                                 trigger: str, detail: str = "", delivery: DeliveryDedupe | None = None,
                                 delivery_id: str = "") -> Enqueued:
    """`enqueue_generate` on an asyncio Redis client: the webhook's path, which then needs no
    thread of its own per delivery (the settings' write-back mode and formats)."""
    admission = _admission(epic_key, settings, trigger=trigger, source="jira", write_back=None, dry_run=False,
                           formats=None, detail=detail, delivery=delivery, delivery_id=delivery_id)
    return admission.outcome(await _admit_script(client)(keys=admission.keys, args=admission.args))


def _plus_seconds(iso: str | None, seconds: int) -> str | None:
    try:
        return (datetime.fromisoformat(iso) + timedelta(seconds=seconds)).isoformat(timespec="seconds") if iso else None
    except ValueError:
        return None


def _worker_lost_note(record: dict[str, str], s: Settings) -> str:
    """What a person needs to know about a job whose worker stopped mid-job."""
    vt = visibility_timeout(s)
    by = _plus_seconds(record.get("started_at"), vt)
    return (f"the worker running this job ({worker_of(record) or 'unknown'}) stopped without finishing it "
            f"(killed, out of memory or lost): its epic lock was not renewed for {s.job_lock_ttl_s}s. "
            f"The broker delivers the job again {vt}s after a worker took it (CASEWRIGHT_VISIBILITY_TIMEOUT)"
            + (f", by about {by}," if by else "")
            + " to a running worker, and it resumes from its checkpoint")


def worker_of(record: dict[str, str]) -> str:
    """The worker and process that ran (or runs) the job's latest execution, e.g. 'w1@host pid 42'."""
    name, pid = record.get("worker") or "", record.get("pid") or ""
    return " ".join(part for part in (name, f"pid {pid}" if pid else "") if part)


def job_status(job_id: str, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """State, progress and result of a job; None when the id is unknown. One round trip reads
    the job record and Celery's result record (workers/celery_wire.py: no Celery import)."""
    s = settings or get_settings()
    pipe = redis_client(s).pipeline(transaction=False)
    pipe.hgetall(job_key(s, job_id))
    pipe.get(task_meta_key(s, job_id))
    raw, meta_raw = pipe.execute()
    if not raw:
        return None
    record = {k.decode(): v.decode() for k, v in raw.items()}
    meta = read_task_meta(meta_raw)
    state, info = meta.state, meta.info
    progress = result = error = None
    if state == "PROGRESS" and isinstance(info, dict):
        progress = info
    elif state == "SUCCESS":
        result = info if isinstance(info, dict) else {"value": info}
    elif state in ("FAILURE", "REVOKED"):  # the job's own message, else what Celery stored
        error = record.get("error") or meta.error or state.lower()
    elif state == "RETRY":
        state = "WAITING" if record.get("phase") == "waiting" else "RETRY"
    if state == "PENDING" and record.get("phase") == "queued":
        state = "QUEUED"
    note = None
    executions = int(record.get("executions", 0))
    if state in ("STARTED", "PROGRESS") and record.get("phase") == "running":
        # a live execution renews the epic's lock; it sets its final phase before releasing it
        if epic_gate(s).holder(record.get("epic_key") or "") != job_id:
            state, note = "WORKER_LOST", _worker_lost_note(record, s)
    elif state == "WAITING" and record.get("waiting_for") == job_id:
        note = (f"delivered again after its worker ({worker_of(record) or 'unknown'}) was lost; it waits for "
                f"that execution's epic lock to expire (at most CASEWRIGHT_JOB_LOCK_TTL, {s.job_lock_ttl_s}s) "
                "and then resumes from its checkpoint")
    # every start counts an execution; transient-error retries are counted apart (`attempt`)
    if note is None and executions - 1 - int(record.get("attempt") or 0) > 0:
        note = f"execution {executions}: delivered again after a worker was lost, resumed from its checkpoint"
    return {
        "job_id": job_id, "state": state, "epic_key": record.get("epic_key"),
        "trigger": record.get("trigger"), "phase": record.get("phase"),
        "enqueued_at": record.get("enqueued_at"), "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"), "executions": executions,
        "triggers": int(record.get("triggers", 1)), "waiting_for": record.get("waiting_for") or None,
        "worker": worker_of(record) or None, "note": note,
        "progress": progress, "result": result, "error": error,
    }


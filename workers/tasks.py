"""Background jobs: generate for an epic, sync the knowledge base, the nightly sweep.

Every trigger (webhook, `casewright enqueue`, `POST /jobs`, the sweep) goes through
`enqueue_generate`, which applies the one-epic-one-job rule (workers/locks.py) and keeps a
small job record in Redis (`{prefix}:job:{id}`) next to Celery's own result, so that
`GET /jobs/{id}` can tell an unknown id from a queued job and say what triggered it.

A generate job:
1. takes the epic's lock, or (another execution holds it) re-schedules itself a few seconds
   later with the same job id, keeping its place as the epic's one queued follow-up;
2. runs the graph through `agent.service.generate_epic` with run id = job id, so a second
   delivery of the same job (its worker died) resumes from the graph's checkpoint instead of
   starting over, and the write-back (idempotent) leaves Jira as if it had run once;
3. reports progress as Celery state PROGRESS with meta {node, stories_done, stories_total};
4. retries transient Jira/Qdrant/LLM errors with exponential backoff, at most
   `CASEWRIGHT_JOB_MAX_RETRIES` times; errors a person must fix fail the job at once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

import redis
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from casewright.settings import Settings, get_settings
from connectors.errors import CasewrightError
from workers.celery_app import TASK_GENERATE, TASK_SWEEP, TASK_SYNC_KNOWLEDGE, app
from workers.locks import EpicGate, LockHeartbeat

log = logging.getLogger(__name__)

WRITE_BACK_MODES = ("issues", "subtasks", "comment", "none")
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
JOB_RECORD_TTL_S = 7 * 24 * 3600


# -- Redis handles -------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10,
                                health_check_interval=30)


def redis_client(settings: Settings) -> redis.Redis:
    return _client(settings.redis_url)


@lru_cache(maxsize=16)
def _celery(url: str, prefix: str) -> Celery:
    from workers.celery_app import make_celery

    return make_celery(get_settings().model_copy(update={"redis_url": url, "redis_prefix": prefix}))


def celery_for(settings: Settings) -> Celery:
    """The module's app when the settings are the process's own, else one made for them."""
    own = get_settings()
    if settings is own or (settings.redis_url == own.redis_url and settings.redis_prefix == own.redis_prefix):
        return app
    return _celery(settings.redis_url, settings.redis_prefix)


def epic_gate(settings: Settings, client: redis.Redis | None = None) -> EpicGate:
    return EpicGate(client or redis_client(settings), settings.redis_prefix,
                    lock_ttl_s=settings.job_lock_ttl_s,
                    queued_ttl_s=max(2 * settings.job_time_limit_s, 600))


def job_key(settings: Settings, job_id: str) -> str:
    return f"{settings.redis_prefix}:job:{job_id}"


def epic_jobs_key(settings: Settings, epic_key: str) -> str:
    return f"{settings.redis_prefix}:epic:{epic_key}:jobs"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- metrics shared by all processes (the API's /metrics reads them) -----------------------------
class JobMetrics:
    """Job counts by state and a duration histogram, kept in one Redis hash."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.key = f"{prefix}:metrics:jobs"

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
    job_id: str
    epic_key: str
    coalesced: bool


def _check_options(write_back: str | None, formats: list[str] | None) -> None:
    if write_back is not None and write_back not in WRITE_BACK_MODES:
        raise CasewrightError(
            f"unknown write-back mode {write_back!r}; use one of {', '.join(WRITE_BACK_MODES)}")
    if formats is not None and not all(isinstance(f, str) and f for f in formats):
        raise CasewrightError("formats must be a list of format names such as md, csv, feature, xray, json")


# One round trip admits a trigger: join the epic's queued job (counting the trigger), or reserve
# the queued slot for a new job and write its record, its place in the epic's job list and the
# "queued" metric. KEYS: queued slot, epic's job list, metrics hash. ARGV: new job id, slot TTL,
# job-record key prefix, record TTL, then the record's field/value pairs.
_ADMIT = """
local current = redis.call('GET', KEYS[1])
if current then
  redis.call('HINCRBY', ARGV[3] .. current, 'triggers', 1)
  return {current, 0}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
local record = ARGV[3] .. ARGV[1]
redis.call('HSET', record, unpack(ARGV, 5))
redis.call('EXPIRE', record, tonumber(ARGV[4]))
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -200, -1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], 'state:queued', 1)
return {ARGV[1], 1}
"""


@lru_cache(maxsize=16)
def _admit_script(client: redis.Redis):  # noqa: ANN202 - redis Script
    return client.register_script(_ADMIT)


def enqueue_generate(epic_key: str, *, settings: Settings | None = None, celery: Celery | None = None,
                     trigger: str = "cli", source: str = "jira", write_back: str | None = None,
                     dry_run: bool = False, formats: list[str] | None = None,
                     detail: str = "", client: redis.Redis | None = None) -> Enqueued:
    """Queue a generate job for the epic, or join the follow-up already queued for it.

    The epic's queued slot is the one-epic-one-job rule of workers/locks.py (EpicGate); if
    publishing to the broker fails, the slot and the record are taken back and the error raised,
    so the trigger can be retried and nothing refers to a job that was never queued."""
    s = settings or get_settings()
    epic_key = epic_key.strip().upper()
    if not epic_key:
        raise CasewrightError("an epic key is required, e.g. ER-1")
    _check_options(write_back, formats)
    client = client or redis_client(s)
    gate = epic_gate(s, client)
    new_id = str(uuid.uuid4())
    mode = write_back or s.write_back
    record = {
        "job_id": new_id, "epic_key": epic_key, "trigger": trigger, "detail": detail[:300],
        "source": source, "write_back": mode, "dry_run": int(dry_run),
        "formats": ",".join(formats or []), "enqueued_at": _now(), "phase": "queued",
        "triggers": 1, "executions": 0,
    }
    args: list[Any] = [new_id, gate.queued_ttl_s, f"{s.redis_prefix}:job:", JOB_RECORD_TTL_S]
    for k, v in record.items():
        args += [k, v]
    current, created = _admit_script(client)(
        keys=[gate.queued_key(epic_key), epic_jobs_key(s, epic_key), f"{s.redis_prefix}:metrics:jobs"],
        args=args)
    if not created:
        return Enqueued(current.decode() if isinstance(current, bytes) else str(current), epic_key, coalesced=True)
    kwargs = {"epic_key": epic_key, "source": source, "write_back": mode,
              "dry_run": dry_run, "formats": formats, "attempt": 0}
    try:
        (celery or celery_for(s)).send_task(TASK_GENERATE, kwargs=kwargs, task_id=new_id)
    except Exception:
        gate.cancel_reservation(epic_key, new_id)
        pipe = client.pipeline(transaction=False)
        pipe.delete(job_key(s, new_id))
        pipe.lrem(epic_jobs_key(s, epic_key), 0, new_id)
        pipe.hincrby(f"{s.redis_prefix}:metrics:jobs", "state:queued", -1)
        pipe.execute()
        raise
    return Enqueued(new_id, epic_key, coalesced=False)


def job_record(job_id: str, settings: Settings | None = None) -> dict[str, str] | None:
    s = settings or get_settings()
    raw = redis_client(s).hgetall(job_key(s, job_id))
    if not raw:
        return None
    return {k.decode(): v.decode() for k, v in raw.items()}


def job_status(job_id: str, *, settings: Settings | None = None, celery: Celery | None = None
               ) -> dict[str, Any] | None:
    """State, progress and result of a job; None when the id is unknown."""
    s = settings or get_settings()
    record = job_record(job_id, s)
    if record is None:
        return None
    res = (celery or celery_for(s)).AsyncResult(job_id)
    state = res.state
    info = res.info
    progress = result = error = None
    if state == "PROGRESS" and isinstance(info, dict):
        progress = info
    elif state == "SUCCESS":
        result = res.result if isinstance(res.result, dict) else {"value": res.result}
    elif state in ("FAILURE", "REVOKED"):
        error = record.get("error") or (str(info) if info else state.lower())
    elif state == "RETRY":
        state = "WAITING" if record.get("phase") == "waiting" else "RETRY"
    if state == "PENDING" and record.get("phase") == "queued":
        state = "QUEUED"
    return {
        "job_id": job_id, "state": state, "epic_key": record.get("epic_key"),
        "trigger": record.get("trigger"), "phase": record.get("phase"),
        "enqueued_at": record.get("enqueued_at"), "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"), "executions": int(record.get("executions", 0)),
        "triggers": int(record.get("triggers", 1)), "waiting_for": record.get("waiting_for") or None,
        "progress": progress, "result": result, "error": error,
    }


# -- transient errors ----------------------------------------------------------------------------
_TRANSIENT_NAMES = {
    # network-level, any client
    "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "TimeoutError",
    "RemoteDisconnected", "ChunkedEncodingError", "TransportError", "NetworkError",
    "ConnectError", "PoolTimeout", "ProtocolError",
    # LLM providers
    "APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError",
    "ServiceUnavailableError", "OverloadedError",
    # Qdrant
    "ResponseHandlingException",
    # connectors.atlassian_http: still 429/5xx/unreachable after the connector's own retries
    "TransientError",
}
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: timeouts, dropped connections, 429 and 5xx answers."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return False
    if getattr(exc, "transient", False):  # connectors may flag their own errors
        return True
    for cls in type(exc).__mro__:
        if cls.__name__ in _TRANSIENT_NAMES:
            return True
    if isinstance(exc, CasewrightError):  # a person must fix it; retrying cannot help
        return False
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and status in _TRANSIENT_STATUS:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)


def backoff_s(attempt: int, base: float = 5.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: up to base * 2**attempt, never above cap."""
    return random.uniform(base / 2, min(cap, base * (2 ** attempt)))


def llm_outage_policy(attempt: int, max_retries: int) -> str:
    """What a generate job does when the model API stays unavailable for a story (429, 5xx,
    timeouts after the client's own retries): "raise" while job retries are left, so the job is
    retried with backoff and resumes from its checkpoint instead of writing rule-made cases;
    "fallback" on the last attempt, so the job finishes with the rules' cases for those stories
    (finding `llm-unavailable`, listed in the job's result)."""
    return "raise" if attempt < max_retries else "fallback"


# -- the generate job ----------------------------------------------------------------------------
ProgressFn = Callable[..., None]


def _run_generation(*, epic_key: str, source: str, formats: list[str] | None, out_dir: str,
                    write_back: str, dry_run: bool, run_id: str, resume: bool,
                    progress: ProgressFn, settings: Settings,
                    llm_unavailable: str = "fallback") -> dict[str, Any]:
    """Run the graph for one epic (run id = job id). Imported late: workers depend on the agent,
    and a worker process pays for the agent's imports once, on its first job."""
    from agent.configuration import Configuration
    from agent.runs import UnknownRunError, load_run
    from agent.service import generate_epic

    cfg = Configuration(
        source=source, data_dir=str(settings.data_dir),
        template_path=str(settings.template_path) if settings.template_path else None,
        ac_field_name=settings.ac_field_name, test_issue_type=settings.test_issue_type,
        model=settings.model, formats=list(formats) if formats else ["md", "json"], out_dir=out_dir,
        write_back=write_back, dry_run=dry_run, review=False,
        max_revise_rounds=settings.max_revise_rounds, llm_unavailable=llm_unavailable,
    )
    if resume:
        try:
            load_run(settings.data_dir, run_id)
            resume = _has_checkpoint(settings, epic_key, run_id)
        except UnknownRunError:  # the earlier execution died before the run was recorded
            resume = False
    outcome = generate_epic(epic_key, cfg, run_id=run_id, resume=resume, progress=progress,
                            concurrency=settings.concurrency)
    result = _summarise(outcome)
    state = getattr(outcome, "state", None) or {}
    unavailable = sorted({f.story_key for f in state.get("findings") or []
                          if getattr(f, "code", "") == "llm-unavailable" and f.story_key})
    if unavailable:  # the last attempt: the model API stayed down, the rules wrote these stories
        result["llm_fallback_stories"] = unavailable
        result["warning"] = (f"the model API stayed unavailable after the job's retries; the deterministic "
                             f"generator wrote the cases of {', '.join(unavailable)}")
    write_back_result = (result.get("summary") or {}).get("write_back")
    if isinstance(write_back_result, dict):  # keep the result small: counts and keys, not the plan
        for bulky in ("items", "comments", "summary"):
            write_back_result.pop(bulky, None)
    paths = [str(p) for p in (result.get("report_paths") or [])]
    result["report"] = next((p for p in paths if p.endswith(".md")), paths[0] if paths else out_dir)
    result["out_dir"] = out_dir
    return result


def _has_checkpoint(settings: Settings, epic_key: str, run_id: str) -> bool:
    """Whether the graph saved any state for this run (else a resume would have nothing to continue;
    e.g. a checkpoint directory that is not shared with the machine the job died on)."""
    from agent.service import checkpointer, thread_id

    with checkpointer(settings.data_dir) as saver:
        return saver.get_tuple({"configurable": {"thread_id": thread_id(epic_key, run_id)}}) is not None


def _summarise(outcome: Any) -> dict[str, Any]:
    """A JSON-safe result from whatever generate_epic returned."""
    if isinstance(outcome, dict):
        data = outcome
    elif hasattr(outcome, "model_dump"):
        data = outcome.model_dump(mode="json")
    elif hasattr(outcome, "__dict__"):
        data = dict(vars(outcome))
    else:
        data = {"value": outcome}
    safe: dict[str, Any] = {}
    for k, v in data.items():
        if k.startswith("_") or k in ("case_set", "caseset", "cases", "state"):
            continue
        safe[k] = _jsonable(v)
    return safe


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "model_dump"):
        return v.model_dump(mode="json")
    return str(v)


# The graph reports a node when it has finished; the job reports the node it is in now, i.e.
# the one that follows (agent/graph.py's pipe). `last_node` keeps the finished one.
_NEXT_NODE = {"start": "plan", "plan": "gather", "gather": "retrieve", "retrieve": "generate",
              "end_to_end": "review", "review": "approval", "revise": "revise_story",
              "revise_story": "review", "approval": "write_back", "write_back": "report", "report": "done"}


class ProgressReporter:
    """Turns the graph's progress callbacks into Celery PROGRESS states (throttled)."""

    def __init__(self, task: Any, job_id: str, epic_key: str) -> None:
        self.task = task
        self.job_id = job_id
        self.epic_key = epic_key
        self.meta: dict[str, Any] = {"epic_key": epic_key, "node": "plan", "last_node": None,
                                     "stories_done": 0, "stories_total": 0}
        self._last = 0.0

    def __call__(self, node: Any = None, update: dict[str, Any] | None = None, *,
                 stories_done: int | None = None, stories_total: int | None = None, **extra: Any) -> None:
        """Called by agent.service.generate_epic as progress(node, the node's state update)."""
        if isinstance(update, dict):
            if node == "plan" and isinstance(update.get("scope"), list):
                stories_total = len(update["scope"])
            elif node == "generate":
                stories_done = self.meta["stories_done"] + 1
        if stories_done is not None:
            self.meta["stories_done"] = int(stories_done)
        if stories_total is not None:
            self.meta["stories_total"] = int(stories_total)
        changed = False
        if node is not None:
            finished = str(node)
            if finished == "generate":
                current = ("end_to_end" if self.meta["stories_done"] >= self.meta["stories_total"]
                           else "generate")
            else:
                current = _NEXT_NODE.get(finished, finished)
            changed = current != self.meta["node"]
            self.meta["node"] = current
            if finished != "start":
                self.meta["last_node"] = finished
        for k, v in extra.items():
            if isinstance(v, (str, int, float, bool)) or v is None:
                self.meta[k] = v
        now = time.monotonic()
        done = self.meta["stories_total"] and self.meta["stories_done"] >= self.meta["stories_total"]
        if changed or done or now - self._last >= 0.5:
            self._last = now
            self.task.update_state(task_id=self.job_id, state="PROGRESS", meta=dict(self.meta))


@app.task(bind=True, name=TASK_GENERATE, acks_late=True, reject_on_worker_lost=True,
          max_retries=None)
def generate_epic_task(self, epic_key: str, source: str = "jira", write_back: str = "none",
                       dry_run: bool = False, formats: list[str] | None = None,
                       attempt: int = 0) -> dict[str, Any]:
    settings = get_settings()
    job_id = self.request.id
    client = redis_client(settings)
    jkey = job_key(settings, job_id)
    gate = epic_gate(settings, client)
    metrics = JobMetrics(client, settings.redis_prefix)
    kwargs = {"epic_key": epic_key, "source": source, "write_back": write_back,
              "dry_run": dry_run, "formats": formats}

    lock = gate.try_lock(epic_key, job_id)
    if lock is None:
        holder = gate.holder(epic_key) or "?"
        gate.refresh_reservation(epic_key, job_id)
        client.hset(jkey, mapping={"phase": "waiting", "waiting_for": holder})
        wait = max(1, min(15, settings.job_lock_ttl_s // 2))
        log.info("epic %s is busy with job %s; job %s waits %ss", epic_key, holder, job_id, wait)
        raise self.retry(kwargs={**kwargs, "attempt": attempt}, countdown=wait, max_retries=None)

    started = time.monotonic()
    executions = client.hincrby(jkey, "executions", 1)
    if executions > max(3, settings.job_max_retries + 2):  # a job that kills its worker every time
        lock.release()
        msg = (f"job {job_id} was delivered {executions} times and its worker died each time "
               "(out of memory?); not running it again")
        client.hset(jkey, mapping={"phase": "failed", "error": msg, "finished_at": _now()})
        metrics.count("failed")
        raise CasewrightError(msg)
    client.hset(jkey, mapping={"phase": "running", "waiting_for": "", "started_at": _now()})
    client.expire(jkey, JOB_RECORD_TTL_S)
    metrics.count("started")
    resume = executions > 1  # delivered again after a worker died: continue the checkpoint
    reporter = ProgressReporter(self, job_id, epic_key)
    reporter(node="start")
    out_dir = str(settings.out_dir / epic_key / job_id)
    try:
        with LockHeartbeat(lock, settings.job_lock_ttl_s) as heartbeat:
            result = _run_generation(
                epic_key=epic_key, source=source, formats=formats, out_dir=out_dir,
                write_back=write_back, dry_run=dry_run, run_id=job_id, resume=resume,
                progress=reporter, settings=settings,
                llm_unavailable=llm_outage_policy(attempt, settings.job_max_retries))
    except SoftTimeLimitExceeded:
        msg = f"the job passed its soft time limit ({settings.job_soft_time_limit_s}s)"
        client.hset(jkey, mapping={"phase": "failed", "error": msg, "finished_at": _now()})
        metrics.count("failed")
        raise CasewrightError(msg + "; raise CASEWRIGHT_JOB_SOFT_TIME_LIMIT or split the epic") from None
    except Exception as err:
        if is_transient(err) and attempt < settings.job_max_retries:
            delay = backoff_s(attempt)
            client.hset(jkey, mapping={"phase": "retrying", "error": f"{type(err).__name__}: {err}"[:500]})
            metrics.count("retried")
            log.warning("job %s: transient %s, retry %d/%d in %.0fs", job_id, type(err).__name__,
                        attempt + 1, settings.job_max_retries, delay)
            raise self.retry(kwargs={**kwargs, "attempt": attempt + 1}, exc=err, countdown=delay,
                             max_retries=None) from err
        message = str(err) if isinstance(err, CasewrightError) else f"{type(err).__name__}: {err}"
        client.hset(jkey, mapping={"phase": "failed", "error": message[:500], "finished_at": _now()})
        metrics.count("failed")
        raise
    elapsed = time.monotonic() - started
    result.update({"job_id": job_id, "epic_key": epic_key, "run_id": job_id,
                   "executions": executions, "resumed": resume,
                   "duration_s": round(elapsed, 3), "lock_lost": heartbeat.lost.is_set()})
    client.hset(jkey, mapping={"phase": "succeeded", "finished_at": _now(), "error": ""})
    metrics.count("succeeded")
    metrics.observe(elapsed)
    return result


# -- knowledge base and sweep ----------------------------------------------------------------------
def knowledge_jql(settings: Settings, projects: list[str] | None = None) -> str | None:
    """What the knowledge base holds from Jira: every issue of the watched projects (stories,
    criteria and approved Test cases), or of the projects the sweep saw."""
    keys = sorted({p.strip().upper() for p in list(projects or []) + list(settings.webhook_projects) if p.strip()})
    if not keys:
        return None
    return f"project in ({', '.join(keys)}) ORDER BY key ASC"


def _sync_knowledge(settings: Settings, projects: list[str] | None = None) -> dict[str, Any]:
    """Re-sync the knowledge base from live Jira (and Confluence's CONFLUENCE_CQL pages)."""
    from agent.jira_access import JiraAccess
    from agent.knowledge import StoreConfig, configure, ingest_workspace, open_knowledge_base
    from connectors.workspace import Workspace

    jql = knowledge_jql(settings, projects)
    cql = settings.confluence_cql
    if not jql and not cql:
        return {"skipped": "no projects to sync: set CASEWRIGHT_WEBHOOK_PROJECTS or CONFLUENCE_CQL"}
    access = JiraAccess.from_settings(settings)
    issues: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    if jql:
        source = access.source()
        issues = source.search(jql)
        fields = source.fields()
    pages: list[dict[str, Any]] = []
    confluence = access.confluence()
    if cql and confluence is not None:
        pages = confluence.pages_by_cql(cql)
    ws = Workspace(issues=issues, fields=fields, pages=pages, origin="nightly knowledge sync")
    config = StoreConfig.from_settings(settings)
    configure(config)
    kb = open_knowledge_base(config)
    try:
        summary = ingest_workspace(kb, ws, ac_field_name=settings.ac_field_name,
                                   test_issue_type=settings.test_issue_type, prune=True)
    finally:
        kb.close()
    out = summary.as_dict() if hasattr(summary, "as_dict") else _summarise(summary)
    return {"jql": jql, "cql": cql, "issues": len(issues), "pages": len(pages), **out}


@app.task(bind=True, name=TASK_SYNC_KNOWLEDGE, acks_late=True, reject_on_worker_lost=True,
          max_retries=None)
def sync_knowledge_task(self, projects: list[str] | None = None, attempt: int = 0) -> dict[str, Any]:
    settings = get_settings()
    client = redis_client(settings)
    metrics = JobMetrics(client, settings.redis_prefix)
    # one sync at a time across all workers (a second one would only repeat the work)
    lock = client.lock(f"{settings.redis_prefix}:knowledge:lock", timeout=settings.job_lock_ttl_s,
                       blocking=False, thread_local=False)
    if not lock.acquire(blocking=False, token=f"{self.request.id}:{uuid.uuid4().hex}"):
        return {"skipped": "another knowledge sync is running"}
    started = time.monotonic()
    metrics.count("started")
    try:
        with LockHeartbeat(lock, settings.job_lock_ttl_s):
            result = _sync_knowledge(settings, projects)
    except Exception as err:
        if is_transient(err) and attempt < settings.job_max_retries:
            metrics.count("retried")
            raise self.retry(kwargs={"projects": projects, "attempt": attempt + 1}, exc=err,
                             countdown=backoff_s(attempt), max_retries=None) from err
        metrics.count("failed")
        raise
    metrics.count("succeeded")
    metrics.observe(time.monotonic() - started)
    return result


@app.task(bind=True, name=TASK_SWEEP, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def nightly_sweep_task(self, attempt: int = 0) -> dict[str, Any]:
    from workers.schedule import run_sweep

    settings = get_settings()
    try:
        report = run_sweep(settings)
    except Exception as err:
        if is_transient(err) and attempt < settings.job_max_retries:
            raise self.retry(kwargs={"attempt": attempt + 1}, exc=err, countdown=backoff_s(attempt),
                             max_retries=None) from err
        raise
    projects = sorted({key.rsplit("-", 1)[0] for key in report.get("epics", [])})
    report["knowledge_sync_job"] = sync_knowledge_task.apply_async(kwargs={"projects": projects}).id
    return report

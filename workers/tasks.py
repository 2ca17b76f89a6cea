"""The Celery tasks: generate for an epic, sync the knowledge base, the nightly sweep.

Tasks are declared with `shared_task` and bind to whichever app runs them (workers/celery_app.py
includes this module by name), so nothing here imports the app.

A generate job:
1. takes the epic's lock, or (another execution holds it) re-schedules itself a few seconds
   later with the same job id, keeping its place as the epic's one queued follow-up;
2. builds its run from the settings exactly as `casewright generate` does
   (`Configuration.from_settings`, `Services.from_settings`) and runs the graph through
   `agent.runner.generate_epic` with run id = job id, so a second delivery of the same job
   (its worker died) resumes from the graph's checkpoint instead of starting over, and the
   write-back (idempotent) leaves Jira as if it had run once;
3. reports progress as Celery state PROGRESS with meta {node, stories_done, stories_total};
4. retries transient Jira/Qdrant/LLM errors with exponential backoff, at most
   `CASEWRIGHT_JOB_MAX_RETRIES` times; errors a person must fix fail the job at once.
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from typing import Any, Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from agent.configuration import Configuration
from agent.context import Services
from agent.graph import next_nodes
from agent.runner import generate_epic, has_checkpoint
from agent.runs import UnknownRunError, load_run
from connectors.errors import CasewrightError, is_transient
from connectors.settings import Settings, get_settings
from workers.celery_app import TASK_GENERATE, TASK_SWEEP, TASK_SYNC_KNOWLEDGE
from workers.jobs import JOB_RECORD_TTL_S, JobMetrics, _now, epic_gate, job_key, redis_client
from workers.locks import LockHeartbeat
from workers.sweep import run_sweep

log = logging.getLogger(__name__)


def retryable(exc: BaseException) -> bool:
    """A job error worth retrying: transient (connectors.errors.is_transient), but never the
    job's own time limit."""
    return not isinstance(exc, SoftTimeLimitExceeded) and is_transient(exc)


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
    """Run the graph for one epic (run id = job id), built from the settings as the CLI builds it."""
    cfg = Configuration.from_settings(settings, source=source, formats=list(formats) if formats else None,
                                      out_dir=out_dir, write_back=write_back, dry_run=dry_run, review=False,
                                      llm_unavailable=llm_unavailable)
    if resume:
        try:
            load_run(settings.data_dir, run_id)
            resume = has_checkpoint(settings.data_dir, epic_key, run_id)
        except UnknownRunError:  # the earlier execution died before the run was recorded
            resume = False
    outcome = generate_epic(epic_key, cfg, Services.from_settings(settings), run_id=run_id, resume=resume,
                            progress=progress, concurrency=settings.concurrency)
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
# the one that follows on the graph's main line. `last_node` keeps the finished one.
_NEXT_NODE = next_nodes()


class ProgressReporter:
    """Turns the graph's progress callbacks into Celery PROGRESS states (throttled)."""

    def __init__(self, task: Any, job_id: str, epic_key: str) -> None:
        self.task = task
        self.job_id = job_id
        self.epic_key = epic_key
        self.meta: dict[str, Any] = {"epic_key": epic_key, "node": _NEXT_NODE["start"], "last_node": None,
                                     "stories_done": 0, "stories_total": 0}
        self._last = 0.0

    def __call__(self, node: Any = None, update: dict[str, Any] | None = None, *,
                 stories_done: int | None = None, stories_total: int | None = None, **extra: Any) -> None:
        """Called by agent.runner.generate_epic as progress(node, the node's state update)."""
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
                current = (_NEXT_NODE["generate"] if self.meta["stories_done"] >= self.meta["stories_total"]
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


@shared_task(bind=True, name=TASK_GENERATE, acks_late=True, reject_on_worker_lost=True,
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
    client.hset(jkey, mapping={"phase": "running", "waiting_for": "", "started_at": _now(),
                               "worker": self.request.hostname or "", "pid": os.getpid(), "attempt": attempt})
    client.expire(jkey, JOB_RECORD_TTL_S)
    metrics.count("started")
    resume = executions > 1  # delivered again after a worker died: continue the checkpoint
    reporter = ProgressReporter(self, job_id, epic_key)
    reporter(node="start")
    out_dir = str(settings.out_dir / epic_key / job_id)
    # The job's final phase is written while it still holds the epic's lock: a "running" record
    # without its lock means the worker died (workers/jobs.py job_status).
    with LockHeartbeat(lock, settings.job_lock_ttl_s) as heartbeat:
        try:
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
            if retryable(err) and attempt < settings.job_max_retries:
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
    from agent.knowledge.base import ingest_workspace, open_knowledge_base
    from agent.knowledge.config import StoreConfig
    from connectors.jira_access import JiraAccess

    jql = knowledge_jql(settings, projects)
    cql = settings.confluence_cql
    if not jql and not cql:
        return {"skipped": "no projects to sync: set CASEWRIGHT_WEBHOOK_PROJECTS or CONFLUENCE_CQL"}
    ws = JiraAccess.from_settings(settings).workspace(jql, cql, origin="nightly knowledge sync")
    issues, pages = ws.issues, ws.pages
    kb = open_knowledge_base(StoreConfig.from_settings(settings))
    try:
        summary = ingest_workspace(kb, ws, ac_field_name=settings.ac_field_name,
                                   test_issue_type=settings.test_issue_type, prune=True)
    finally:
        kb.close()
    out = summary.as_dict() if hasattr(summary, "as_dict") else _summarise(summary)
    return {"jql": jql, "cql": cql, "issues": len(issues), "pages": len(pages), **out}


@shared_task(bind=True, name=TASK_SYNC_KNOWLEDGE, acks_late=True, reject_on_worker_lost=True,
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
        if retryable(err) and attempt < settings.job_max_retries:
            metrics.count("retried")
            raise self.retry(kwargs={"projects": projects, "attempt": attempt + 1}, exc=err,
                             countdown=backoff_s(attempt), max_retries=None) from err
        metrics.count("failed")
        raise
    metrics.count("succeeded")
    metrics.observe(time.monotonic() - started)
    return result


@shared_task(bind=True, name=TASK_SWEEP, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def nightly_sweep_task(self, attempt: int = 0) -> dict[str, Any]:
    settings = get_settings()
    try:
        report = run_sweep(settings)
    except Exception as err:
        if retryable(err) and attempt < settings.job_max_retries:
            raise self.retry(kwargs={"attempt": attempt + 1}, exc=err, countdown=backoff_s(attempt),
                             max_retries=None) from err
        raise
    projects = sorted({key.rsplit("-", 1)[0] for key in report.get("epics", [])})
    report["knowledge_sync_job"] = sync_knowledge_task.apply_async(kwargs={"projects": projects}).id
    return report


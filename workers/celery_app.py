"""The Celery application: Redis (`REDIS_URL`) as broker and result backend.

Delivery guarantees, and why each setting is here:

* ``task_acks_late``: a job's message is acknowledged only after the job finished, so a
  worker that dies mid-job leaves it unacknowledged and it is delivered again.
* ``task_reject_on_worker_lost``: with the prefork pool, a child process killed mid-job makes
  the parent requeue the message at once instead of marking the job failed.
* ``visibility_timeout``: with Redis, an unacknowledged message whose worker vanished (SIGKILL
  of the whole worker, a lost machine) is restored to the queue after this many seconds. It
  must be longer than the longest job, or a job still running would be delivered twice;
  the default is the hard time limit plus five minutes. A second delivery of a job that is
  still running cannot run concurrently anyway: it waits for the epic's lock (workers/locks.py).
* ``worker_prefetch_multiplier = 1``: a worker holds one job at a time, so long jobs spread
  over all workers instead of queueing behind one.
* soft and hard time limits from the settings; JSON everywhere (no pickle).
* every key (queue, unacked index, results) carries ``CASEWRIGHT_REDIS_PREFIX``, so several
  deployments (or test runs) can share one Redis.

The queue and task names and the key prefix live in workers/celery_wire.py, which also writes
the task message and reads the result record without importing Celery (what `casewright
enqueue`, `casewright status` and the webhook use). Run a worker with ``casewright worker`` (or ``celery -A workers.celery_app worker``). The tasks
(workers/tasks.py) are included by name and declared with ``shared_task``, so this module
imports none of them.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery

from connectors.errors import CasewrightError
from connectors.settings import Settings, get_settings
from workers.celery_wire import (  # noqa: F401 - the names are Celery-free; re-exported for the app's users
    TASK_GENERATE,
    TASK_SWEEP,
    TASK_SYNC_KNOWLEDGE,
    key_prefix,
    queue_name,
    visibility_timeout,
)
from workers.schedule import nightly_crontab


def make_celery(settings: Settings | None = None, *, with_schedule: bool = False) -> Celery:
    """A Celery app for these settings (the module-level `app` uses the environment's)."""
    s = settings or get_settings()
    vt = visibility_timeout(s)
    prefix = key_prefix(s)
    app = Celery("casewright", broker=s.redis_url, backend=s.redis_url, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=s.job_soft_time_limit_s,
        task_time_limit=s.job_time_limit_s,
        task_track_started=True,
        task_send_sent_event=False,  # one publish per job on the webhook path, not two
        worker_send_task_events=True,
        result_extended=True,
        result_expires=7 * 24 * 3600,
        task_default_queue=queue_name(s),
        task_default_exchange=queue_name(s),
        task_default_routing_key=queue_name(s),
        timezone=s.timezone,
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_transport_options={
            "visibility_timeout": vt,
            "global_keyprefix": prefix,
            # look for messages of dead workers often; the scan itself is cheap
            "unacked_restore_interval": max(1, min(10, vt // 4)),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 5,
        },
        result_backend_transport_options={"global_keyprefix": prefix, "visibility_timeout": vt},
        redis_socket_connect_timeout=5,
        redis_backend_health_check_interval=30,
    )
    if with_schedule:
        app.conf.beat_schedule = {
            "nightly-sweep": {"task": TASK_SWEEP, "schedule": nightly_crontab(s), "options": {"expires": 6 * 3600}},
        }
    return app


def _module_app() -> Celery:
    try:
        return make_celery(with_schedule=True)
    except CasewrightError as err:  # a bad cron/zone must not stop workers; `casewright beat` refuses it
        logging.getLogger(__name__).error("no nightly schedule: %s", err)
        return make_celery()


app = _module_app()


@lru_cache(maxsize=16)
def _celery(url: str, prefix: str) -> Celery:
    return make_celery(get_settings().model_copy(update={"redis_url": url, "redis_prefix": prefix}))


def celery_for(settings: Settings) -> Celery:
    """The module's app when the settings are the process's own, else one made for them."""
    own = get_settings()
    if settings is own or (settings.redis_url == own.redis_url and settings.redis_prefix == own.redis_prefix):
        return app
    return _celery(settings.redis_url, settings.redis_prefix)

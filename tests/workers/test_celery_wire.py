"""workers/celery_wire.py writes Celery's task message and reads its result record without
importing Celery. Here both are compared with what Celery itself writes and reads, on the real
Redis (DB 12): the message `app.send_task` pushes, and `AsyncResult` over records the real result
backend stored. (A real worker consuming the Celery-free message: tests/integration/.)"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import pytest
from celery.exceptions import Retry

from connectors.errors import CasewrightError
from support.service import cleanup, make_settings, redis_client, settings_env, unique_prefix
from workers.celery_app import make_celery
from workers.celery_wire import (
    TASK_GENERATE,
    queue_key,
    queue_name,
    read_task_meta,
    task_message,
    task_meta_key,
)
from workers.jobs import enqueue_generate, job_status

DB = 12
KWARGS = {"epic_key": "ER-1", "source": "jira", "write_back": "none", "dry_run": False,
          "formats": ["json", "md"], "attempt": 0}
VOLATILE = {("properties", "delivery_tag"), ("properties", "reply_to"), ("headers", "origin")}


@pytest.fixture
def wire():
    prefix = unique_prefix("wire")
    settings = make_settings(DB, prefix)
    yield settings, make_celery(settings)
    cleanup(DB, prefix)


def _comparable(raw: bytes | str) -> dict:
    message = json.loads(raw)
    for part, field in VOLATILE:
        assert message[part].pop(field)  # present, then left out of the comparison
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_the_message_is_the_one_celery_send_task_pushes(wire):
    settings, app = wire
    job = str(uuid.uuid4())
    app.send_task(TASK_GENERATE, kwargs=KWARGS, task_id=job)
    pushed = redis_client(DB).lrange(queue_key(settings), 0, -1)
    assert len(pushed) == 1, "send_task pushes onto the list queue_key names"
    ours = task_message(TASK_GENERATE, job, KWARGS, queue_name(settings))
    assert _comparable(ours) == _comparable(pushed[0])
    assert json.loads(ours)["properties"]["delivery_tag"] != json.loads(task_message(
        TASK_GENERATE, job, KWARGS, queue_name(settings)))["properties"]["delivery_tag"]


def test_the_comparison_would_see_a_different_message(wire):
    settings, app = wire
    job = str(uuid.uuid4())
    app.send_task(TASK_GENERATE, kwargs=KWARGS, task_id=job)
    pushed = _comparable(redis_client(DB).lrange(queue_key(settings), 0, -1)[0])
    assert _comparable(task_message(TASK_GENERATE, job, {**KWARGS, "attempt": 1}, queue_name(settings))) != pushed
    assert _comparable(task_message(TASK_GENERATE, str(uuid.uuid4()), KWARGS, queue_name(settings))) != pushed


@pytest.mark.parametrize("state,value", [
    ("SUCCESS", {"report": "out/ER-1.md", "cases": 12}),
    ("SUCCESS", 7),
    ("PROGRESS", {"node": "generate", "stories_done": 2, "stories_total": 5}),
    ("STARTED", None),
    ("FAILURE", CasewrightError("epic ER-404 does not exist; check the key")),
    ("FAILURE", ValueError("two", "args")),
    ("RETRY", Retry("epic busy", when=5)),
    ("REVOKED", None),
])
def test_the_result_record_reads_as_async_result_reports_it(wire, state, value):
    settings, app = wire
    job = str(uuid.uuid4())
    app.backend.store_result(job, value, state)
    raw = redis_client(DB).get(task_meta_key(settings, job))
    assert raw, "the backend stored the record under task_meta_key"
    ours = read_task_meta(raw)
    theirs = app.AsyncResult(job)
    assert ours.state == theirs.state == state
    if state == "RETRY":  # the status reads no more than the state of a retry
        assert ours.exc_type == "Retry"
    elif isinstance(theirs.info, BaseException):
        assert ours.info == str(theirs.info) and ours.exc_type == type(theirs.info).__name__
        assert ours.error == f"{type(value).__name__}: {value}"
    else:
        assert ours.info == theirs.info and ours.error is None


def test_no_record_reads_as_pending(wire):
    settings, app = wire
    job = str(uuid.uuid4())
    assert read_task_meta(redis_client(DB).get(task_meta_key(settings, job))).state == "PENDING"
    assert app.AsyncResult(job).state == "PENDING"


def test_enqueue_pushes_one_message_and_status_reads_the_backend(wire):
    settings, app = wire
    first = enqueue_generate("er-7", settings=settings, trigger="api", formats=["json"])
    again = enqueue_generate("ER-7", settings=settings, trigger="cli")
    assert again.coalesced and again.job_id == first.job_id
    pushed = redis_client(DB).lrange(queue_key(settings), 0, -1)
    assert len(pushed) == 1
    message = json.loads(pushed[0])
    assert message["headers"]["id"] == first.job_id and message["headers"]["task"] == TASK_GENERATE
    assert json.loads(base64.b64decode(message["body"]))[1]["epic_key"] == "ER-7"
    st = job_status(first.job_id, settings=settings)
    assert st["state"] == "QUEUED" and st["triggers"] == 2
    app.backend.store_result(first.job_id, {"report": "out/ER-7.md"}, "SUCCESS")
    st = job_status(first.job_id, settings=settings)
    assert st["state"] == "SUCCESS" and st["result"] == {"report": "out/ER-7.md"}
    other = enqueue_generate("ER-8", settings=settings).job_id
    app.backend.store_result(other, CasewrightError("no epic ER-8 in Jira"), "FAILURE")
    st = job_status(other, settings=settings)
    assert st["state"] == "FAILURE" and st["error"] == "CasewrightError: no epic ER-8 in Jira"
    redis_client(DB).hset(f"{settings.redis_prefix}:job:{other}", "error", "no epic ER-8 in Jira")
    assert job_status(other, settings=settings)["error"] == "no epic ER-8 in Jira"  # the task's own words
    assert job_status(str(uuid.uuid4()), settings=settings) is None


def test_a_push_that_fails_leaves_no_slot_and_no_record(wire):
    settings, _ = wire
    client = redis_client(DB)
    client.set(queue_key(settings), "not a list")  # LPUSH fails inside the admission script
    with pytest.raises(Exception, match="WRONGTYPE"):
        enqueue_generate("ER-9", settings=settings)
    keys = {k.decode() for k in client.scan_iter(match=f"{settings.redis_prefix}:*")}
    assert keys == {queue_key(settings)}, "no queued slot, job record, job list or metric for a job never queued"
    client.delete(queue_key(settings))
    queued = enqueue_generate("ER-9", settings=settings)  # the next trigger is not coalesced into a phantom
    assert not queued.coalesced and client.llen(queue_key(settings)) == 1


def test_status_and_enqueue_load_no_celery(wire):
    settings, _ = wire
    probe = ("import sys, json\n"
             "from workers.jobs import enqueue_generate, job_status\n"
             "q = enqueue_generate('ER-3')\n"
             "assert job_status(q.job_id)['state'] == 'QUEUED'\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    env = settings_env(settings)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                       env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    loaded = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert "redis" in loaded
    assert not loaded & {"celery", "kombu", "billiard"}, sorted(loaded & {"celery", "kombu", "billiard"})

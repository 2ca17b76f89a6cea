"""The per-epic lock, the follow-up reservation, delivery de-duplication and retry rules,
against the real Redis (DB 7)."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.errors import is_transient
from support.service import cleanup, redis_client, unique_prefix
from workers.dedupe import DeliveryDedupe, delivery_id_for
from workers.locks import EpicGate, LockHeartbeat
from workers.tasks import backoff_s

DB = 7


@pytest.fixture
def client():
    prefix = unique_prefix("locks")
    c = redis_client(DB)
    c.prefix = prefix  # type: ignore[attr-defined]
    yield c
    cleanup(DB, prefix)
    c.close()


def test_one_reservation_per_epic_under_concurrency(client):
    gate = EpicGate(client, client.prefix, lock_ttl_s=5)
    results = []
    barrier = threading.Barrier(20)

    def trigger(n):
        barrier.wait()
        results.append(gate.reserve("ER-1", f"job-{n}"))

    threads = [threading.Thread(target=trigger, args=(n,)) for n in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    created = [r for r in results if r.created]
    assert len(created) == 1
    assert {r.job_id for r in results} == {created[0].job_id}
    assert gate.queued_job("ER-1") == created[0].job_id
    # another epic is independent
    assert gate.reserve("ER-7", "job-x").created


def test_a_started_job_frees_the_slot_for_one_follow_up(client):
    gate = EpicGate(client, client.prefix, lock_ttl_s=5)
    assert gate.reserve("ER-1", "j1").created
    lock = gate.try_lock("ER-1", "j1")
    assert lock is not None and gate.holder("ER-1") == "j1"
    assert gate.queued_job("ER-1") is None  # j1 started: its reservation is gone
    follow = gate.reserve("ER-1", "j2")
    assert follow.created
    assert gate.reserve("ER-1", "j3").job_id == "j2"  # later triggers join the follow-up
    assert gate.try_lock("ER-1", "j2") is None  # j2 waits while j1 runs
    assert gate.queued_job("ER-1") == "j2"
    lock.release()
    lock2 = gate.try_lock("ER-1", "j2")
    assert lock2 is not None and gate.queued_job("ER-1") is None
    lock2.release()


def test_the_lock_expires_when_its_holder_dies_and_checks_its_owner(client):
    gate = EpicGate(client, client.prefix, lock_ttl_s=1)
    dead = gate.try_lock("ER-1", "dead-job")
    assert dead is not None
    assert gate.try_lock("ER-1", "next-job") is None
    time.sleep(1.2)  # nobody renews it: it expires
    taker = gate.try_lock("ER-1", "next-job")
    assert taker is not None
    # the dead holder cannot delete a lock it no longer owns
    from redis.exceptions import LockNotOwnedError

    with pytest.raises(LockNotOwnedError):
        dead.release()
    assert gate.holder("ER-1") == "next-job"
    taker.release()


def test_a_heartbeat_keeps_a_long_job_s_lock(client):
    gate = EpicGate(client, client.prefix, lock_ttl_s=1)
    lock = gate.try_lock("ER-1", "long-job")
    with LockHeartbeat(lock, 1) as hb:
        time.sleep(2.0)  # twice the TTL
        assert gate.holder("ER-1") == "long-job"
        assert gate.try_lock("ER-1", "other") is None
    assert not hb.lost.is_set()
    assert gate.holder("ER-1") is None  # released on exit


def test_cancel_and_refresh_only_touch_their_own_reservation(client):
    gate = EpicGate(client, client.prefix, lock_ttl_s=5, queued_ttl_s=50)
    gate.reserve("ER-1", "mine")
    assert not gate.cancel_reservation("ER-1", "someone-else")
    assert not gate.refresh_reservation("ER-1", "someone-else")
    assert gate.refresh_reservation("ER-1", "mine")
    assert 0 < client.ttl(gate.queued_key("ER-1")) <= 50
    assert gate.cancel_reservation("ER-1", "mine")
    assert gate.queued_job("ER-1") is None


def test_an_ignored_delivery_is_recorded_once_with_an_expiry(client):
    d = DeliveryDedupe(client, client.prefix, ttl_s=30)
    assert d.claim_ignored("abc") is None  # new: recorded as ignored
    assert d.claim_ignored("abc") == "ignored"  # a retry finds the earlier outcome
    assert 0 < client.ttl(d.key("abc")) <= 30
    client.set(d.key("xyz"), "job-1")  # a delivery that was queued (workers/jobs.py records it)
    assert d.claim_ignored("xyz") == "job-1"
    assert client.get(d.key("xyz")) == b"job-1"  # and keeps its outcome


def test_delivery_identity_falls_back_to_the_body_digest():
    assert delivery_id_for(" id-1 ", b"x") == "id-1"
    assert delivery_id_for(None, b"body") == delivery_id_for("", b"body")
    assert delivery_id_for(None, b"body") != delivery_id_for(None, b"body2")


def test_transient_errors_are_retried_and_user_errors_are_not():
    import httpx
    import requests

    from connectors.errors import CasewrightError

    class FakeResponse:
        status_code = 503

    class JIRAError(Exception):
        def __init__(self, status_code):
            self.status_code = status_code

    assert is_transient(requests.ConnectionError("reset"))
    assert is_transient(httpx.ReadTimeout("slow"))
    assert is_transient(JIRAError(429)) and is_transient(JIRAError(502))
    assert not is_transient(JIRAError(400)) and not is_transient(JIRAError(404))
    assert not is_transient(CasewrightError("epic ER-99 does not exist"))
    assert not is_transient(ValueError("bug"))
    wrapped = RuntimeError("graph failed")
    wrapped.__cause__ = httpx.ConnectError("refused")
    assert is_transient(wrapped)
    delays = [backoff_s(n) for n in range(8)]
    assert all(2.5 <= d <= 300 for d in delays)

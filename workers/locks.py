"""One epic, one job: a Redis lock per epic plus at most one queued follow-up.

Two keys per epic, both under the configured prefix:

* ``{prefix}:epic:{KEY}:lock``   held by the job that is running for the epic. The value is
  ``"{job_id}:{nonce}"`` (a fresh nonce per execution), it expires after ``lock_ttl_s`` and the
  running job renews it from a heartbeat thread, so a worker that dies (SIGKILL, lost machine)
  frees the epic within one TTL. Release and renewal check the owner token in Lua
  (redis-py ``Lock``), so a job can never delete a lock that expired and was taken by another.
* ``{prefix}:epic:{KEY}:queued`` the id of the job that is queued for the epic and has not
  started yet. A trigger reserves it with one atomic script: if a job is already queued the
  trigger joins it (coalesces) instead of queueing another. A job clears the reservation, by
  compare-and-delete, only once it holds the lock. So triggers that arrive while a job runs
  give at most one follow-up, and that follow-up reads the epic as it is when it starts.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

import redis
from redis.exceptions import LockError
from redis.lock import Lock

log = logging.getLogger(__name__)

# KEYS[1] = queued key; ARGV[1] = new job id; ARGV[2] = ttl seconds.
# Returns {job_id, 1} when the new job was reserved, {existing_job_id, 0} when one was queued.
_RESERVE = """
local current = redis.call('GET', KEYS[1])
if current then
  return {current, 0}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return {ARGV[1], 1}
"""

# KEYS[1] = key; ARGV[1] = expected value. Deletes only when the value matches.
_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] = key; ARGV[1] = expected value; ARGV[2] = ttl seconds. Renews only when it matches.
_COMPARE_AND_EXPIRE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""


def queued_key(prefix: str, epic_key: str) -> str:
    """The epic's queued slot (the admission script of workers/jobs.py takes it too)."""
    return f"{prefix}:epic:{epic_key}:queued"


@dataclass(frozen=True)
class Reservation:
    """What a trigger got: the job that will serve it, and whether that job is new."""

    job_id: str
    created: bool

    @property
    def coalesced(self) -> bool:
        return not self.created


class EpicGate:
    """The per-epic lock and follow-up reservation, shared by every API process and worker."""

    def __init__(self, client: redis.Redis, prefix: str, lock_ttl_s: int = 60,
                 queued_ttl_s: int = 7200) -> None:
        if lock_ttl_s < 1:
            raise ValueError("lock_ttl_s must be at least 1 second")
        self.client = client
        self.prefix = prefix
        self.lock_ttl_s = lock_ttl_s
        self.queued_ttl_s = queued_ttl_s
        self._reserve = client.register_script(_RESERVE)
        self._cad = client.register_script(_COMPARE_AND_DELETE)
        self._cae = client.register_script(_COMPARE_AND_EXPIRE)

    # -- keys --------------------------------------------------------------------------------
    def lock_key(self, epic_key: str) -> str:
        return f"{self.prefix}:epic:{epic_key}:lock"

    def queued_key(self, epic_key: str) -> str:
        return queued_key(self.prefix, epic_key)

    # -- triggers ------------------------------------------------------------------------------
    def reserve(self, epic_key: str, job_id: str) -> Reservation:
        """Reserve the queued slot for `job_id`, or join the job already queued for the epic."""
        current, created = self._reserve(keys=[self.queued_key(epic_key)],
                                         args=[job_id, self.queued_ttl_s])
        return Reservation(job_id=_text(current), created=bool(created))

    def cancel_reservation(self, epic_key: str, job_id: str) -> bool:
        """Drop the reservation if it is still `job_id`'s (e.g. the enqueue itself failed)."""
        return bool(self._cad(keys=[self.queued_key(epic_key)], args=[job_id]))

    def refresh_reservation(self, epic_key: str, job_id: str) -> bool:
        """Keep a waiting follow-up's reservation alive while it waits for the lock."""
        return bool(self._cae(keys=[self.queued_key(epic_key)], args=[job_id, self.queued_ttl_s]))

    def queued_job(self, epic_key: str) -> str | None:
        value = self.client.get(self.queued_key(epic_key))
        return _text(value) if value is not None else None

    # -- jobs ------------------------------------------------------------------------------------
    def try_lock(self, epic_key: str, job_id: str) -> Lock | None:
        """Take the epic's lock for `job_id` without blocking; None when another execution holds it.

        On success the job's reservation (if it was the queued follow-up) is cleared, so the next
        trigger for the epic queues a new follow-up instead of joining a job that already started.
        """
        lock = self.client.lock(self.lock_key(epic_key), timeout=self.lock_ttl_s,
                                blocking=False, thread_local=False)
        token = f"{job_id}:{uuid.uuid4().hex}"
        if not lock.acquire(blocking=False, token=token):
            return None
        self.cancel_reservation(epic_key, job_id)
        return lock

    def holder(self, epic_key: str) -> str | None:
        """The job id of the execution that holds the epic's lock, if any."""
        value = self.client.get(self.lock_key(epic_key))
        if value is None:
            return None
        return _text(value).rsplit(":", 1)[0]


class LockHeartbeat:
    """Renews a lock every third of its TTL from a daemon thread while a job runs.

    If the lock was lost (Redis restarted, a stall longer than the TTL), `lost` is set and
    renewals stop; the job finishes its current step and its result says the lock was lost.
    """

    def __init__(self, lock: Lock, ttl_s: int) -> None:
        self.lock = lock
        self.interval = max(ttl_s / 3.0, 0.2)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="casewright-lock-heartbeat", daemon=True)

    def __enter__(self) -> "LockHeartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.lock.release()
        except LockError:
            log.warning("epic lock %s had expired or changed owner before release", self.lock.name)
        except redis.RedisError as err:  # the lock expires by itself
            log.warning("could not release epic lock %s: %s", self.lock.name, err)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.lock.reacquire()
            except LockError:
                log.error("lost the epic lock %s; another execution may take the epic", self.lock.name)
                self.lost.set()
                return
            except redis.RedisError as err:
                log.warning("could not renew epic lock %s: %s (will retry)", self.lock.name, err)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

"""Helpers for the service tests (webhook API, workers, schedule): settings on a database and
key prefix of the suite's own Redis (tests/support/redis_server.py), signed Jira deliveries, and
real Celery worker subprocesses."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from connectors.settings import Settings
from support import ROOT
from support.redis_server import RedisServer

REDIS: RedisServer | None = None
"""The suite's own Redis, set by the session fixture in tests/conftest.py."""


def unique_prefix(tag: str) -> str:
    return f"cwtest-{tag}-{uuid.uuid4().hex[:10]}"


def redis_server() -> RedisServer:
    assert REDIS is not None, "the session fixture starts the suite's Redis (tests/conftest.py)"
    return REDIS


def redis_url(db: int) -> str:
    return redis_server().url(db)


def redis_client(db: int) -> redis.Redis:
    return redis_server().client(db)


def make_settings(db: int, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"redis_url": redis_url(db), "redis_prefix": prefix}
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce `settings` in a subprocess."""
    env = {
        "REDIS_URL": settings.redis_url,
        "CASEWRIGHT_REDIS_PREFIX": settings.redis_prefix,
        "CASEWRIGHT_DATA_DIR": str(settings.data_dir),
        "CASEWRIGHT_OUT_DIR": str(settings.out_dir),
        "CASEWRIGHT_JOB_LOCK_TTL": str(settings.job_lock_ttl_s),
        "CASEWRIGHT_JOB_MAX_RETRIES": str(settings.job_max_retries),
        "CASEWRIGHT_WRITE_BACK": settings.write_back,
        "CASEWRIGHT_JOB_SOFT_TIME_LIMIT": str(settings.job_soft_time_limit_s),
        "CASEWRIGHT_JOB_TIME_LIMIT": str(settings.job_time_limit_s),
        "CASEWRIGHT_STORE_LOCK_WAIT": str(settings.store_lock_wait_s),
    }
    if settings.broker_visibility_timeout_s:
        env["CASEWRIGHT_VISIBILITY_TIMEOUT"] = str(settings.broker_visibility_timeout_s)
    if settings.jira_url:
        env["JIRA_URL"] = settings.jira_url
    if settings.jira_email:
        env["JIRA_EMAIL"] = settings.jira_email
    if settings.jira_api_token:
        env["JIRA_API_TOKEN"] = settings.jira_api_token.get_secret_value()
    return env


def cleanup(db: int, prefix: str) -> None:
    client = redis_client(db)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i:i + 500])
    client.close()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_event(key: str, *, event: str = "jira:issue_updated", issue_type: str = "Story",
                parent: str | None = "ER-1", project: str | None = None, labels: list[str] | None = None,
                status: str = "To Do", changes: list[dict[str, Any]] | None = None,
                extra_fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Jira Cloud issue webhook body, in the shape Jira sends."""
    fields: dict[str, Any] = {
        "summary": f"Summary of {key}",
        "issuetype": {"name": issue_type},
        "project": {"key": project or key.rsplit("-", 1)[0]},
        "labels": labels or [],
        "status": {"name": status},
    }
    if parent:
        fields["parent"] = {"key": parent, "fields": {"issuetype": {"name": "Epic"}}}
    fields.update(extra_fields or {})
    body: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"displayName": "Tess Tester"},
        "issue": {"id": str(abs(hash(key)) % 100000), "key": key, "fields": fields},
    }
    if event == "jira:issue_updated":
        body["changelog"] = {"id": "1", "items": changes if changes is not None else [
            {"field": "Acceptance Criteria", "fieldtype": "custom", "fieldId": "customfield_10050",
             "fromString": "old", "toString": "new"}]}
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerProcess:
    """A real `celery worker` subprocess for the given settings (solo pool, one job at a time), or,
    with `cli_concurrency`, the documented `casewright worker` command (prefork, that many child
    processes)."""

    def __init__(self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None,
                 pool: str = "solo", cwd: Path | None = None, base_env: dict[str, str] | None = None,
                 cli_concurrency: int | None = None) -> None:
        self.settings = settings
        self.cli_concurrency = cli_concurrency
        self.cwd = cwd or ROOT
        self.base_env = dict(os.environ) if base_env is None else base_env
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.pool = pool
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = {**self.base_env, **settings_env(self.settings), **self.extra_env, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")
        name = f"w-{uuid.uuid4().hex[:6]}@%h"
        if self.cli_concurrency:
            argv = [sys.executable, "-m", "casewright", "worker", "-c", str(self.cli_concurrency), "-n", name]
        else:
            argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", f"--pool={self.pool}",
                    "-c", "1", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "-n", name]
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, the job's message stays unacked."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

"""Shared fixtures: the Jira/Confluence emulator (support.sandbox) and the suite's own Redis.

Every test process (each xdist worker too) starts a throwaway redis-server on a free port
before any test module is imported, and points REDIS_URL at it, so the settings, the Celery
workers and the CLI subprocesses the tests start all use it; a Redis on 6379 is never touched."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from support import service
from support.redis_server import RedisServer, start_redis

pytest_plugins = ["support.sandbox"]

# Property tests are derandomized in the suite, so a run is repeatable and CI never goes red by
# chance; HYPOTHESIS_PROFILE=explore draws fresh examples (run it when changing a parser).
hypothesis_settings.register_profile("suite", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def pytest_configure(config: pytest.Config) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="casewright-test-redis-"))
    server = start_redis(workdir)
    config.stash[_REDIS] = (server, workdir, os.environ.get("REDIS_URL"))
    os.environ["REDIS_URL"] = server.url(0)
    service.REDIS = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server, workdir, previous = config.stash.get(_REDIS, (None, None, None))
    if server is None:
        return
    service.REDIS = None
    if previous is None:
        os.environ.pop("REDIS_URL", None)
    else:
        os.environ["REDIS_URL"] = previous
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


_REDIS = pytest.StashKey[tuple[RedisServer | None, Path | None, str | None]]()


@pytest.fixture(scope="session")
def suite_redis() -> RedisServer:
    assert service.REDIS is not None
    return service.REDIS

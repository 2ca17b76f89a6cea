"""The suite brings its own Redis: every process of it, and everything it starts, talks to a
throwaway server on a free port, never to 6379."""

from __future__ import annotations

import re
import subprocess
import sys

from connectors.settings import Settings
from support import ROOT
from support.service import redis_server


def test_the_suite_runs_on_its_own_redis():
    server = redis_server()
    assert server.port != 6379
    info = server.client().info("persistence")
    assert info["aof_enabled"] == 0 and server.client().config_get("save")["save"] == ""
    assert Settings().redis_url == server.url(0)  # what settings, workers and services read


def test_processes_the_suite_starts_inherit_it():
    out = subprocess.run([sys.executable, "-c", "from connectors.settings import Settings; print(Settings().redis_url)"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == redis_server().url(0)


def test_no_test_names_the_default_port():
    hard_wired = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
                  if p.name != "test_suite_redis.py" and re.search(r"(?:[:=]\s*|port\W+)6379\b", p.read_text(encoding="utf-8"))]
    assert not hard_wired, f"tests must take Redis from support.service / REDIS_URL: {hard_wired}"

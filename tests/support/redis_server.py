"""A throwaway `redis-server` for the suite: one per test process (each xdist worker has its
own), on a free loopback port, keeping nothing on disk. Every test, worker process and service
the suite starts reaches it through REDIS_URL, so a Redis the developer runs on 6379 (with their
data in it) is never touched."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


class NoRedisServer(RuntimeError):
    pass


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen

    host = "127.0.0.1"

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=db)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: Path, attempts: int = 5) -> RedisServer:
    """Start redis-server on a free port (a port taken meanwhile by someone else: try another)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise NoRedisServer("redis-server is not installed; `make test` installs Debian's redis-server package, "
                            "or install it yourself (apt-get install redis-server / brew install redis)")
    workdir.mkdir(parents=True, exist_ok=True)
    last = ""
    for _ in range(attempts):
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--databases", "16", "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        server = RedisServer(port, proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if server.client().ping():
                    return server
            except redis.ConnectionError:
                time.sleep(0.02)
        last = proc.stdout.read().decode(errors="replace") if proc.poll() is not None and proc.stdout else ""
        server.stop()
    raise NoRedisServer(f"redis-server did not start: {last.strip()[-300:]}")

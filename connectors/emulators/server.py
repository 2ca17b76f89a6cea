"""An ASGI app served by uvicorn in a daemon thread on a port of its own (0: a free one).

The Jira/Confluence emulator and the OpenAI-compatible stub both run this way in tests,
benchmarks and `casewright sandbox`."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "server",
                 **config: Any) -> None:
        self.app = app
        self.host = host
        self.name = name
        self.config = {"log_level": "warning", "access_log": False, "lifespan": "off", **config}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        self._server = uvicorn.Server(uvicorn.Config(self.app, **self.config))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._server = self._thread = None

    def close(self) -> None:
        self.stop()
        self._sock.close()

"""SandboxServer: the emulator on a free port in a background thread (tests, demos, the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from connectors.sandbox.app import create_app
from connectors.sandbox.state import Credentials, Faults, RecordedRequest, SandboxState
from connectors.workspace import Workspace, load_workspace, parse_workspace


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _as_workspace(seed: Workspace | dict[str, Any] | str | Path) -> Workspace:
    if isinstance(seed, Workspace):
        return seed
    if isinstance(seed, dict):
        return parse_workspace(seed, origin="<seed>")
    return load_workspace(seed)


class SandboxServer:
    """Runs the Jira/Confluence emulator with uvicorn in a daemon thread.

    >>> with SandboxServer(SAMPLE_PATH, mode="cloud", email="qa@example.com", api_token="t") as sb:
    ...     JIRA(sb.url, basic_auth=("qa@example.com", "t"))
    """

    def __init__(self, seed: Workspace | dict[str, Any] | str | Path, *, mode: str = "cloud",
                 email: str | None = None, api_token: str | None = None, pat: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, max_results: int = 100) -> None:
        self.state = SandboxState(_as_workspace(seed), mode=mode, max_results=max_results,
                                  credentials=Credentials(email=email, api_token=api_token, pat=pat))
        self.app = create_app(self.state)
        self.host = host
        self.port = port or _free_port(host)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- what tests look at ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def mode(self) -> str:
        return self.state.mode

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.state.requests if r.is_write]

    def reset_log(self) -> None:
        self.state.requests.clear()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "SandboxServer":
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Foreground serving for `casewright sandbox` (Ctrl-C stops it)."""
        uvicorn.run(self.app, host=self.host, port=self.port, log_level="info", lifespan="off")

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""SandboxServer: the emulators on one port in a background thread (tests, demos, the CLI): Jira
and Confluence at the root, Xray Cloud under /xray, Zephyr Scale under /zephyr/v2, TestRail under
/testrail, and (datacenter mode) Xray Server's REST API on the Jira side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import uvicorn

from connectors.emulators.atlassian.app import create_app
from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest
from connectors.emulators.atlassian.state import SandboxState
from connectors.emulators.server import ThreadedServer
from connectors.emulators.testrail.app import create_testrail_app
from connectors.emulators.testrail.state import TestRailState
from connectors.emulators.xray.app import create_xray_app
from connectors.emulators.xray.raven_routes import raven_extension
from connectors.emulators.xray.state import XrayState
from connectors.emulators.zephyr.app import PREFIX as ZEPHYR_PREFIX
from connectors.emulators.zephyr.app import create_zephyr_app
from connectors.emulators.zephyr.state import ZephyrState
from connectors.workspace import Workspace, load_workspace, parse_workspace


def _as_workspace(seed: Workspace | dict[str, Any] | str | Path) -> Workspace:
    if isinstance(seed, Workspace):
        return seed
    if isinstance(seed, dict):
        return parse_workspace(seed, origin="<seed>")
    return load_workspace(seed)


class SandboxServer:
    """Runs the emulators with uvicorn in a daemon thread. `email` + `api_token` are the one demo
    credential of every emulated tool: Jira/Confluence Basic auth, Xray's client id and secret,
    TestRail's user and API key, Zephyr's bearer token (without them nothing checks credentials).

    >>> with SandboxServer(SAMPLE_PATH, mode="cloud", email="qa@example.com", api_token="t") as sb:
    ...     JIRA(sb.url, basic_auth=("qa@example.com", "t"))
    """

    def __init__(self, seed: Workspace | dict[str, Any] | str | Path, *, mode: str = "cloud",
                 email: str | None = None, api_token: str | None = None, pat: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, max_results: int = 100) -> None:
        workspace = _as_workspace(seed)
        self.state = SandboxState(workspace, mode=mode, max_results=max_results,
                                  credentials=Credentials(email=email, api_token=api_token, pat=pat))
        tool_creds = Credentials(email=email, api_token=api_token)
        self.xray = XrayState(self.state, credentials=tool_creds)
        self.zephyr = ZephyrState(self.state, credentials=tool_creds)
        first = workspace.projects[0] if workspace.projects else {}
        self.testrail = TestRailState(project_name=str(first.get("name") or first.get("key") or "UAT"),
                                      credentials=tool_creds)
        self.app = create_app(
            self.state, extensions=(raven_extension(self.xray),) if mode == "datacenter" else (),
            mounts={"/xray": create_xray_app(self.xray), ZEPHYR_PREFIX: create_zephyr_app(self.zephyr),
                    "/testrail": create_testrail_app(self.testrail)})
        self._runner = ThreadedServer(self.app, host=host, port=port, name="sandbox")
        self.host = host
        self.port = self._runner.port

    # -- what tests look at ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def xray_url(self) -> str:
        return f"{self.url}/xray"

    @property
    def zephyr_url(self) -> str:
        return f"{self.url}{ZEPHYR_PREFIX}"

    @property
    def testrail_url(self) -> str:
        return f"{self.url}/testrail"

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
        self._runner.start(timeout)
        return self

    def stop(self) -> None:
        self._runner.stop(timeout=5)

    def serve_forever(self) -> None:
        """Foreground serving for `casewright sandbox` (Ctrl-C stops it)."""
        self._runner.close()
        uvicorn.run(self.app, host=self.host, port=self.port, log_level="info", lifespan="off")

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

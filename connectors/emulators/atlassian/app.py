"""The Jira REST v2 + Confluence REST v1 emulator as a FastAPI app.

Serves what the real `jira` (3.10.x) and `atlassian-python-api` clients call, in their own
response and error shapes: the Jira routes (jira_routes.py) under /rest/api/2 and
/rest/api/latest, the Confluence routes (confluence_routes.py) at the root path, and a 404 for
anything else.

Every request is recorded; auth and injected faults are applied by the emulators' one middleware
(connectors/emulators/gate.py).
"""

from __future__ import annotations

import base64
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.emulators.atlassian.changelog import register_changelog_routes
from connectors.emulators.atlassian.confluence_routes import register_confluence_routes
from connectors.emulators.atlassian.jira_routes import register_jira_routes
from connectors.emulators.atlassian.responses import JIRA_PREFIXES, confluence_error, jira_error
from connectors.emulators.atlassian.state import SandboxState
from connectors.emulators.gate import Gate, install_gate


def _is_confluence(path: str) -> bool:
    return path.startswith("/rest/api/") and not path.startswith(JIRA_PREFIXES)


def _is_write(method: str, path: str) -> bool:
    return method in ("POST", "PUT", "DELETE") and not path.rstrip("/").endswith(("/search", "/search/jql"))


def create_app(state: SandboxState, *, mounts: dict[str, Any] | None = None,
               extensions: tuple[Callable[[FastAPI], None], ...] = ()) -> FastAPI:
    """The Jira/Confluence app; `extensions` add routes on the Jira side (Xray Server's REST API),
    `mounts` serve other emulators under their own path prefixes (Xray Cloud, Zephyr, TestRail)."""
    app = FastAPI(title="casewright Jira/Confluence sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state

    # -- middleware: record, latency, auth, faults (paths of mounted emulators have their own) --
    mounted = tuple(prefix.rstrip("/") + "/" for prefix in mounts or {})

    def error(status: int, message: str, path: str) -> Response:
        return confluence_error(status, message) if _is_confluence(path) else jira_error(status, [message])

    def unauthorised(path: str) -> Response:
        resp = error(401, "Client must be authenticated to access this resource.", path)
        resp.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
        return resp

    install_gate(app, Gate(
        requests=state.requests, faults=state.faults, is_write=lambda method, path, body: _is_write(method, path),
        authorised=lambda request: not state.credentials.enforced or _authorised(
            state, request.headers.get("authorization", "")),
        error=error, unauthorised=unauthorised, skip=lambda path: path.startswith(mounted)))

    # -- routes: Jira, Confluence, then a 404 for anything else ------------------------------
    register_jira_routes(app, state)
    register_changelog_routes(app, state)
    register_confluence_routes(app, state)
    for register in extensions:
        register(app)
    for prefix, sub_app in (mounts or {}).items():
        app.mount(prefix, sub_app)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def unknown(request: Request, rest: str) -> Response:
        return jira_error(404, [f"The emulator does not serve {request.method} /{rest}."])

    return app


def _authorised(state: SandboxState, header: str) -> bool:
    creds = state.credentials
    if header.lower().startswith("basic ") and creds.email and creds.api_token:
        try:
            user, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
        except Exception:  # noqa: BLE001
            return False
        return user == creds.email and secret == creds.api_token
    if header.lower().startswith("bearer ") and creds.pat:
        return header[7:].strip() == creds.pat
    return False

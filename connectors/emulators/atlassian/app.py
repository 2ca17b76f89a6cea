"""The Jira REST v2 + Confluence REST v1 emulator as a FastAPI app.

Serves what the real `jira` (3.10.x) and `atlassian-python-api` clients call, in their own
response and error shapes: the Jira routes (jira_routes.py) under /rest/api/2 and
/rest/api/latest, the Confluence routes (confluence_routes.py) at the root path, and a 404 for
anything else.

Every request is recorded; auth and injected faults are applied by one middleware, here.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.emulators.atlassian.confluence_routes import register_confluence_routes
from connectors.emulators.atlassian.controls import RecordedRequest
from connectors.emulators.atlassian.jira_routes import register_jira_routes
from connectors.emulators.atlassian.responses import JIRA_PREFIXES, confluence_error, jira_error
from connectors.emulators.atlassian.state import SandboxState


def _is_confluence(path: str) -> bool:
    return path.startswith("/rest/api/") and not path.startswith(JIRA_PREFIXES)


def _is_write(method: str, path: str) -> bool:
    return method in ("POST", "PUT", "DELETE") and not path.rstrip("/").endswith(("/search", "/search/jql"))


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(title="casewright Jira/Confluence sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state

    # -- middleware: record, latency, auth, faults -------------------------------------------
    @app.middleware("http")
    async def gate(request: Request, call_next):  # noqa: ANN001
        path = request.url.path
        method = request.method
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        auth_header = request.headers.get("authorization", "")
        auth_kind = auth_header.split(" ", 1)[0].lower() if auth_header else "none"
        is_write = _is_write(method, path)
        rec = RecordedRequest(method=method, path=path, query=dict(request.query_params), status=0,
                              body=body, auth=auth_kind, is_write=is_write)
        state.requests.append(rec)
        faults = state.faults
        confluence = _is_confluence(path)

        def fail(resp: Response) -> Response:
            rec.status = resp.status_code
            return resp

        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        if state.credentials.enforced and not _authorised(state, auth_header):
            msg = "Client must be authenticated to access this resource."
            resp = confluence_error(401, msg) if confluence else jira_error(401, [msg])
            resp.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
            return fail(resp)
        scoped = faults.only_path is None or faults.only_path in path
        if faults.throttle_next > 0 and scoped:
            faults.throttle_next -= 1
            resp = jira_error(429, ["Rate limit exceeded."])
            resp.headers["Retry-After"] = str(int(faults.retry_after))
            return fail(resp)
        if faults.unavailable_next > 0 and scoped:
            faults.unavailable_next -= 1
            return fail(jira_error(503, ["Service Unavailable: the emulator was told to fail this request."]))
        failing_write = False
        if is_write and faults.fail_write_at is not None:
            faults.writes_seen += 1
            n = faults.writes_seen
            failing_write = n == faults.fail_write_at or (faults.fail_writes_after and n > faults.fail_write_at)
            if failing_write and not faults.apply_then_fail:
                return fail(jira_error(faults.fail_status, [f"Injected failure of write #{n}."]))
        response = await call_next(request)
        if failing_write:  # applied, but the caller never hears so
            return fail(jira_error(faults.fail_status, [f"Injected failure after applying write #{faults.writes_seen}."]))
        rec.status = response.status_code
        return response

    # -- routes: Jira, Confluence, then a 404 for anything else ------------------------------
    register_jira_routes(app, state)
    register_confluence_routes(app, state)

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

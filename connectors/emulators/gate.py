"""The middleware in front of every emulator (Jira/Confluence, Xray, Zephyr Scale, TestRail):
record the request, add the configured latency, check the credentials, inject the faults a test
asked for (connectors/emulators/atlassian/controls.py), then let the routes answer.

Each emulator supplies how it tells a write, whom it lets in and what its error bodies look like.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.emulators.atlassian.controls import Faults, RecordedRequest, injected_fault


@dataclass
class Gate:
    requests: list[RecordedRequest]
    faults: Faults
    is_write: Callable[[str, str, Any], bool]            # (method, path, parsed body)
    authorised: Callable[[Request], bool] | None         # None: every request is let in
    error: Callable[[int, str, str], Response]           # (status, message, path) -> the tool's error body
    unauthorised: Callable[[str], Response] | None = None  # (path) -> the 401 answer; default error(401, ...)
    skip: Callable[[str], bool] = lambda path: False     # paths another gate (a mounted emulator) handles


def _auth_kind(header: str) -> str:
    return header.split(" ", 1)[0].lower() if header else "none"


def install_gate(app: FastAPI, gate: Gate) -> None:
    @app.middleware("http")
    async def gate_middleware(request: Request, call_next):  # noqa: ANN001, ANN202
        path = request.url.path
        if gate.skip(path):
            return await call_next(request)
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        write = gate.is_write(request.method, path, body)
        rec = RecordedRequest(method=request.method, path=path, query=dict(request.query_params), status=0,
                              body=body, auth=_auth_kind(request.headers.get("authorization", "")), is_write=write)
        gate.requests.append(rec)

        def answer(resp: Response) -> Response:
            rec.status = resp.status_code
            return resp

        if gate.faults.latency_s:
            await asyncio.sleep(gate.faults.latency_s)
        if gate.authorised is not None and not gate.authorised(request):
            if gate.unauthorised is not None:
                return answer(gate.unauthorised(path))
            return answer(gate.error(401, "Client must be authenticated to access this resource.", path))
        fault = injected_fault(gate.faults, path=path, is_write=write)
        if fault is not None and not fault.applied:
            resp = gate.error(fault.status, fault.message, path)
            resp.headers.update(fault.headers)
            return answer(resp)
        response = await call_next(request)
        if fault is not None:  # applied, but the caller never hears so
            return answer(gate.error(fault.status, fault.message, path))
        rec.status = response.status_code
        return response

"""The TestRail API v2 emulator as a FastAPI app, mounted by the sandbox under /testrail.

TestRail addresses its API as `index.php?/api/v2/<method>/<id>&param=value`: the method and id
come in the query string. Served: get_project(s), get_suite(s), get_section(s), add_section,
get_case(s) (paginated, with the suite/section/refs/filter/type/priority filters), add_case,
update_case, move_cases_to_section, get_case_fields, get_case_types, get_priorities,
get_templates; errors as TestRail answers them (`{"error": "..."}`, 400 for bad fields and ids,
401 for bad credentials). Writes are the POSTs.
"""

from __future__ import annotations

import base64
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emulators.gate import Gate, install_gate
from connectors.emulators.testrail.state import TestRailInvalid, TestRailState

AUTH_FAILED = "Authentication failed: invalid or missing user/password or session cookie."
PAGE = 250


def error(status: int, message: str, path: str = "") -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _authorised(state: TestRailState, request: Request) -> bool:
    creds = state.credentials
    if not creds.enforced:
        return True
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        user, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except Exception:  # noqa: BLE001
        return False
    return user == creds.email and secret == creds.api_token


def _page(items: list[dict[str, Any]], key: str, method: str, params: dict[str, str]) -> dict[str, Any]:
    offset = max(0, int(params.get("offset") or 0))
    limit = max(1, min(PAGE, int(params.get("limit") or PAGE)))
    chunk = items[offset:offset + limit]
    rest = "".join(f"&{k}={v}" for k, v in params.items() if k not in ("offset", "limit"))
    nxt = f"/api/v2/{method}{rest}&limit={limit}&offset={offset + limit}" if offset + limit < len(items) else None
    prev = f"/api/v2/{method}{rest}&limit={limit}&offset={max(0, offset - limit)}" if offset else None
    return {"offset": offset, "limit": limit, "size": len(chunk), "_links": {"next": nxt, "prev": prev}, key: chunk}


def create_testrail_app(state: TestRailState) -> FastAPI:
    app = FastAPI(title="casewright TestRail emulator", docs_url=None, redoc_url=None, openapi_url=None)
    install_gate(app, Gate(requests=state.requests, faults=state.faults,
                           is_write=lambda method, path, body: method == "POST",
                           authorised=lambda request: _authorised(state, request),
                           error=error, unauthorised=lambda path: error(401, AUTH_FAILED)))

    def int_id(raw: str | None, name: str) -> int:
        try:
            return int(str(raw))
        except (TypeError, ValueError):
            raise TestRailInvalid(f"Field :{name} is not a valid ID.") from None

    Handler = Callable[[str | None, dict[str, str], Any], Any]
    reads: dict[str, Handler] = {
        "get_projects": lambda i, p, b: _page(list(state.projects.values()), "projects", "get_projects", p),
        "get_project": lambda i, p, b: state.project(int_id(i, "project_id")),
        "get_suites": lambda i, p, b: [s for s in state.suites.values()
                                       if s["project_id"] == state.project(int_id(i, "project_id"))["id"]],
        "get_suite": lambda i, p, b: state.suite(int_id(i, "suite_id")),
        "get_sections": lambda i, p, b: _page(state.sections_of(int_id(i, "project_id"), p.get("suite_id")),
                                              "sections", f"get_sections/{i}", p),
        "get_section": lambda i, p, b: state.section(int_id(i, "section_id")),
        "get_case": lambda i, p, b: state.case(int_id(i, "case_id")),
        "get_cases": lambda i, p, b: _page(state.cases_of(int_id(i, "project_id"), p), "cases", f"get_cases/{i}", p),
        "get_case_fields": lambda i, p, b: state.fields,
        "get_case_types": lambda i, p, b: state.case_types(),
        "get_priorities": lambda i, p, b: state.priorities(),
        "get_templates": lambda i, p, b: state.templates(int_id(i, "project_id")),
    }
    writes: dict[str, Handler] = {
        "add_section": lambda i, p, b: state.add_section(int_id(i, "project_id"), b),
        "add_case": lambda i, p, b: state.add_case(int_id(i, "section_id"), b),
        "update_case": lambda i, p, b: state.update_case(int_id(i, "case_id"), b),
        "move_cases_to_section": lambda i, p, b: state.move_cases(int_id(i, "section_id"), b),
    }

    @app.api_route("/index.php", methods=["GET", "POST"], include_in_schema=False)
    async def api(request: Request) -> Response:
        route, _, rest = request.url.query.partition("&")
        if not route.startswith("/api/v2/"):
            return error(404, "The emulator serves the TestRail API under index.php?/api/v2/ only.")
        method, _, ident = route[len("/api/v2/"):].partition("/")
        params = dict(parse_qsl(rest, keep_blank_values=True))
        handler = reads.get(method) or writes.get(method)
        if handler is None:
            return error(400, f"Unknown method '{method}'")
        wanted = "POST" if method in writes else "GET"
        if request.method != wanted:
            return error(400, f"The method {method} requires HTTP {wanted}.")
        body: Any = {}
        if wanted == "POST":
            try:
                body = await request.json() if await request.body() else {}
            except ValueError:
                return error(400, "Content-Type must be application/json and the body valid JSON.")
            if not isinstance(body, dict):
                return error(400, "The request body must be a JSON object.")
        try:
            result = handler(ident or None, params, body)
        except TestRailInvalid as exc:
            return error(exc.status, str(exc))
        return JSONResponse({} if result is None else result)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def unknown(request: Request, rest: str) -> Response:
        return error(404, f"The TestRail emulator does not serve {request.method} /{rest}.")

    return app

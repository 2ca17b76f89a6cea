"""The Zephyr Scale Cloud REST API v2 emulator as a FastAPI app, mounted by the sandbox under
/zephyr/v2 (so ZEPHYR_URL=http://HOST:PORT/zephyr/v2).

Served, in Zephyr's shapes (paged lists as {next, startAt, maxResults, total, isLast, values},
references as {id, self}, errors as {errorCode, message}): projects, priorities, statuses,
folders (GET, POST), testcases (GET list, POST, GET/PUT by key), testcases/{key}/teststeps
(GET, POST with mode APPEND|OVERWRITE), testcases/{key}/links (GET) and links/issues (POST, by
numeric Jira issue id). Auth: `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emulators.gate import Gate, install_gate
from connectors.emulators.zephyr.state import ZephyrInvalid, ZephyrState

PREFIX = "/zephyr/v2"


def error(status: int, message: str, path: str = "") -> JSONResponse:
    return JSONResponse({"errorCode": status, "message": message}, status_code=status)


def create_zephyr_app(state: ZephyrState, prefix: str = PREFIX) -> FastAPI:
    app = FastAPI(title="casewright Zephyr Scale emulator", docs_url=None, redoc_url=None, openapi_url=None)

    def authorised(request: Request) -> bool:
        token = state.credentials.api_token
        if not token:
            return True
        header = request.headers.get("authorization", "")
        return header.lower().startswith("bearer ") and header[7:].strip() == token

    install_gate(app, Gate(
        requests=state.requests, faults=state.faults,
        is_write=lambda method, path, body: method in ("POST", "PUT", "DELETE"), authorised=authorised,
        error=error, unauthorised=lambda path: error(401, "Authentication failed: the API access token is missing, "
                                                            "invalid or expired.")))

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{prefix}"

    def ref(request: Request, kind: str, value: Any) -> Any:
        if not value:
            return None
        return {"id": value["id"], "self": f"{base(request)}/{kind}/{value['id']}"}

    def paged(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        start = max(0, int(request.query_params.get("startAt") or 0))
        size = max(1, min(1000, int(request.query_params.get("maxResults") or 10)))
        chunk = items[start:start + size]
        last = start + size >= len(items)
        nxt = None
        if not last:
            query = {k: v for k, v in request.query_params.items() if k not in ("startAt", "maxResults")}
            query.update({"startAt": start + size, "maxResults": size})
            nxt = str(request.url.replace_query_params(**query))
        return {"next": nxt, "startAt": start, "maxResults": size, "total": len(items), "isLast": last,
                "values": chunk}

    def case_json(request: Request, case: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(case)
        key = case["key"]
        for kind, name in (("projects", "project"), ("priorities", "priority"), ("statuses", "status"),
                           ("folders", "folder")):
            out[name] = ref(request, kind, case[name])
        out["testScript"] = {"self": f"{base(request)}/testcases/{key}/testscript"}
        out["links"] = links_json(request, case)
        return out

    def links_json(request: Request, case: dict[str, Any]) -> dict[str, Any]:
        jira = f"{request.url.scheme}://{request.url.netloc}"
        return {"self": f"{base(request)}/testcases/{case['key']}/links",
                "issues": [{"self": f"{base(request)}/links/{link['id']}", "issueId": link["issueId"],
                            "id": link["id"], "target": f"{jira}/rest/api/2/issue/{link['issueId']}",
                            "type": link["type"]} for link in case["links"]["issues"]],
                "webLinks": []}

    def project_scope(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        key = request.query_params.get("projectKey")
        if not key:
            return items
        pid = state.project(key)["id"]
        return [i for i in items if i["project"]["id"] == pid]

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ZephyrInvalid("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ZephyrInvalid("The request body must be a JSON object.")
        return body

    def route(path: str, methods: list[str]):  # noqa: ANN202
        def deco(fn):  # noqa: ANN001, ANN202
            async def handler(request: Request) -> Response:
                try:
                    return await fn(request, **request.path_params)
                except ZephyrInvalid as exc:
                    return error(exc.status, str(exc))
            app.add_api_route(path, handler, methods=methods, include_in_schema=False)
            return fn
        return deco

    @route("/projects", ["GET"])
    async def projects(request: Request) -> Response:
        return JSONResponse(paged(request, list(state.projects.values())))

    @route("/projects/{key}", ["GET"])
    async def project(request: Request, key: str) -> Response:
        return JSONResponse(state.project(key))

    @route("/priorities", ["GET"])
    async def priorities(request: Request) -> Response:
        items = [dict(p, project=ref(request, "projects", p["project"])) for p in project_scope(request, state.priorities)]
        return JSONResponse(paged(request, items))

    @route("/statuses", ["GET"])
    async def statuses(request: Request) -> Response:
        kind = request.query_params.get("statusType")
        items = [s for s in project_scope(request, state.statuses) if not kind or s["type"] == kind]
        return JSONResponse(paged(request, [{k: v for k, v in dict(s, project=ref(request, "projects", s["project"])
                                                                     ).items() if k != "type"} for s in items]))

    @route("/folders", ["GET", "POST"])
    async def folders(request: Request) -> Response:
        if request.method == "POST":
            folder = state.add_folder(await body_of(request))
            return JSONResponse({"id": folder["id"], "self": f"{base(request)}/folders/{folder['id']}"},
                                status_code=201)
        kind = request.query_params.get("folderType")
        items = [f for f in project_scope(request, list(state.folders.values())) if not kind or f["folderType"] == kind]
        return JSONResponse(paged(request, [dict(f, project=ref(request, "projects", f["project"])) for f in items]))

    @route("/testcases", ["GET", "POST"])
    async def testcases(request: Request) -> Response:
        if request.method == "POST":
            case = state.create_case(await body_of(request))
            return JSONResponse({"id": case["id"], "self": f"{base(request)}/testcases/{case['key']}",
                                 "key": case["key"]}, status_code=201)
        items = project_scope(request, list(state.cases.values()))
        folder = request.query_params.get("folderId")
        if folder:
            items = [c for c in items if c["folder"] and str(c["folder"]["id"]) == folder]
        return JSONResponse(paged(request, [case_json(request, c) for c in items]))

    @route("/testcases/{key}", ["GET", "PUT"])
    async def testcase(request: Request, key: str) -> Response:
        if request.method == "PUT":
            state.update_case(key, await body_of(request))
            return Response(status_code=200)
        return JSONResponse(case_json(request, state.case(key)))

    @route("/testcases/{key}/teststeps", ["GET", "POST"])
    async def teststeps(request: Request, key: str) -> Response:
        state.case(key)
        if request.method == "POST":
            state.set_steps(key, await body_of(request))
            return JSONResponse({"id": state.cases[key]["id"], "self": f"{base(request)}/testcases/{key}/teststeps"},
                                status_code=201)
        return JSONResponse(paged(request, copy.deepcopy(state.steps[key])))

    @route("/testcases/{key}/links", ["GET"])
    async def links(request: Request, key: str) -> Response:
        return JSONResponse(links_json(request, state.case(key)))

    @route("/testcases/{key}/links/issues", ["POST"])
    async def link_issue(request: Request, key: str) -> Response:
        link = state.link_issue(key, await body_of(request))
        return JSONResponse({"id": link["id"], "self": f"{base(request)}/links/{link['id']}"}, status_code=201)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def unknown(request: Request, rest: str) -> Response:
        return error(404, f"The Zephyr Scale emulator does not serve {request.method} /{rest}.")

    return app

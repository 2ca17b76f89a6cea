"""Xray Data Center / Server's REST API on the Jira emulator: the manual test steps of a Test issue
under /rest/raven/1.0/api/test/{key}/step (GET list, GET one, PUT to add, POST to update, DELETE),
in Xray's v1.0 shapes (`{"id", "index", "step"|"data"|"result": {"raw", "rendered"}, "attachments"}`).
The test type is the Jira custom field "Test Type" (XrayState adds it in datacenter mode). Auth,
faults and the request log are the Jira emulator's: these routes sit on the Jira app.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emulators.atlassian.responses import jira_error
from connectors.emulators.xray.state import XrayInvalid, XrayState

PREFIX = "/rest/raven/1.0/api/test/{key}/step"


def _text(value: str) -> dict[str, str]:
    return {"raw": value, "rendered": f"<p>{html.escape(value)}</p>" if value else ""}


def _step_json(step: dict[str, Any], index: int) -> dict[str, Any]:
    return {"id": int(step["raven_id"]), "index": index, "step": _text(step["action"]), "data": _text(step["data"]),
            "result": _text(step["result"]), "attachments": []}


def raven_extension(state: XrayState):  # noqa: ANN201 - a route registrar for create_app(extensions=...)
    counter = iter(range(1, 10 ** 9))

    def manual(key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        issue = state.jira.get_issue(key)
        _, record = state.manual(issue["id"])
        for step in record["steps"]:
            if "raven_id" not in step:
                step["raven_id"] = next(counter)
        return issue, record

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise XrayInvalid("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise XrayInvalid("The request body must be a JSON object.")
        unknown = set(body) - {"step", "data", "result", "attachments"}
        if unknown:
            raise XrayInvalid(f"Unknown step properties: {', '.join(sorted(unknown))} (use step, data, result).")
        return body

    def register(app: FastAPI) -> None:
        def route(path: str, methods: list[str]):  # noqa: ANN202
            def deco(fn):  # noqa: ANN001, ANN202
                async def handler(request: Request) -> Response:
                    try:
                        return await fn(request, **request.path_params)
                    except XrayInvalid as exc:
                        return jira_error(400, [str(exc)])
                    except LookupError as exc:
                        return jira_error(404, [str(exc)])
                app.add_api_route(path, handler, methods=methods, include_in_schema=False)
                return fn
            return deco

        @route(PREFIX, ["GET", "PUT"])
        async def steps(request: Request, key: str) -> Response:
            issue, record = manual(key)
            if request.method == "PUT":
                body = await body_of(request)
                new = state.new_step({"action": body.get("step"), "data": body.get("data"),
                                      "result": body.get("result")})
                new["raven_id"] = next(counter)
                record["steps"].append(new)
                state.touch(record, issue)
                return JSONResponse(_step_json(new, len(record["steps"])))
            return JSONResponse([_step_json(s, i) for i, s in enumerate(record["steps"], 1)])

        @route(PREFIX + "/{sid}", ["GET", "POST", "DELETE"])
        async def step(request: Request, key: str, sid: str) -> Response:
            issue, record = manual(key)
            for index, current in enumerate(record["steps"], 1):
                if str(current["raven_id"]) == sid:
                    break
            else:
                raise LookupError(f"Test step with id {sid} does not exist in test {issue['key']}.")
            if request.method == "DELETE":
                record["steps"].remove(current)
                state.touch(record, issue)
                return Response(status_code=204)
            if request.method == "POST":
                body = await body_of(request)
                for ours, theirs in (("action", "step"), ("data", "data"), ("result", "result")):
                    if body.get(theirs) is not None:
                        current[ours] = body[theirs]
                if not str(current["action"]).strip():
                    raise XrayInvalid("The step field is required.")
                state.touch(record, issue)
            return JSONResponse(_step_json(current, index))

    return register

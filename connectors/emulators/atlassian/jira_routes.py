"""The emulator's Jira REST v2 routes, under /rest/api/2 and /rest/api/latest.

serverInfo, myself, field, issuetype, project/{key}, search (Data Center: startAt/total; Cloud
answers 410 like the real one), search/jql (Cloud: nextPageToken/isLast), issue
(GET/POST/PUT/DELETE), issue/{key}/comment (GET/POST, GET/PUT/DELETE by id), issue/{key}/transitions
(GET/POST, workflow.py), issueLinkType, issueLink, issue/{key}/properties (list, GET, PUT, DELETE),
issue/{key}/remotelink, in Jira's own response and error shapes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emulators.atlassian.changelog import expanded_changelog
from connectors.emulators.atlassian.jql import JqlError, compile_jql, sort_issues
from connectors.emulators.atlassian.responses import JIRA_PREFIXES, base, jira_error
from connectors.emulators.atlassian.state import BadRequest, NotFound, SandboxState, now_jira
from connectors.emulators.atlassian.workflow import WorkflowError


def _list_param(request: Request, name: str, body: dict[str, Any] | None = None) -> list[str] | None:
    if body is not None and name in body:
        raw = body[name]
        values = raw if isinstance(raw, list) else [raw]
    else:
        values = request.query_params.getlist(name)
        if not values:
            return None
    out: list[str] = []
    for v in values:
        if v is None:
            continue
        out.extend(x.strip() for x in str(v).split(",") if x.strip())
    return out


def _int_param(src: Any, name: str, default: int) -> int:
    """A number parameter as Jira reads it; anything else is Jira's 400, never a crash."""
    raw = src.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().lstrip("-").isdigit():
        raise BadRequest([f"The value '{raw}' is invalid for {name}; it must be a number."])
    return int(raw)


def _search_source(body: Any, request: Request) -> Any:
    if body is None:
        return request.query_params
    if not isinstance(body, dict):
        raise BadRequest(["The search request must be a JSON object."])
    return body


def register_jira_routes(app: FastAPI, state: SandboxState) -> None:
    """Add the Jira routes, answering from `state`."""

    def issue_url(request: Request, issue: dict[str, Any]) -> str:
        return f"{base(request)}/rest/api/2/issue/{issue['id']}"

    def render_issue(request: Request, issue: dict[str, Any], fields: list[str] | None, expand: str | None,
                     properties: list[str] | None, default_all: bool = True) -> dict[str, Any]:
        src = issue["fields"]
        if fields is None:
            fields = ["*all"] if default_all else ["id"]
        wanted_all = any(f in ("*all", "*navigable") for f in fields)
        excluded = {f[1:] for f in fields if f.startswith("-")}
        names_by_clause = {}
        for fd in state.fields:
            for c in [fd.get("name", "")] + list(fd.get("clauseNames") or []):
                names_by_clause[str(c).lower()] = fd["id"]
        chosen = {names_by_clause.get(f.lower(), f) for f in fields if not f.startswith(("*", "-"))}
        out_fields: dict[str, Any] = {}
        for name, value in src.items():
            if (wanted_all or name in chosen) and name not in excluded:
                out_fields[name] = value
        if (wanted_all or "comment" in chosen) and "comment" not in excluded:
            comments = [render_comment(request, issue, c) for c in state.comments.get(issue["id"], [])]
            out_fields["comment"] = {"comments": comments, "maxResults": len(comments), "total": len(comments),
                                     "startAt": 0}
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"], "self": issue_url(request, issue), "key": issue["key"], "fields": out_fields,
        }
        if expand and "changelog" in expand.split(","):
            out["changelog"] = expanded_changelog(state, issue)
        if expand and "names" in expand.split(","):
            out["names"] = {fd["id"]: fd.get("name", fd["id"]) for fd in state.fields}
        if properties:
            props = state.properties.get(issue["id"], {})
            keys = props.keys() if "*all" in properties else [p for p in properties if p in props]
            out["properties"] = {k: props[k] for k in keys}
        return out

    def render_comment(request: Request, issue: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
        out = dict(c)
        out["self"] = f"{base(request)}/rest/api/2/issue/{issue['id']}/comment/{c['id']}"
        return out

    def run_search(jql: str) -> list[dict[str, Any]]:
        query = compile_jql(jql, state.fields, state.projects)
        hits = [i for i in state.issues.values() if query.predicate(i)]
        return sort_issues(hits, query.order_by)

    async def read_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise BadRequest(["Unexpected character in the request body: it is not valid JSON."]) from None

    def jira_route(path: str, methods: list[str]):  # noqa: ANN202
        def deco(fn):  # noqa: ANN001, ANN202
            async def handler(request: Request) -> Response:
                try:
                    return await fn(request, **request.path_params)
                except NotFound as exc:
                    return jira_error(404, [str(exc)])
                except BadRequest as exc:
                    return jira_error(400, exc.messages, exc.errors)
                except JqlError as exc:
                    return jira_error(400, [str(exc)])
            for prefix in JIRA_PREFIXES:
                app.add_api_route(prefix + path, handler, methods=methods, include_in_schema=False)
            return fn
        return deco

    @jira_route("/serverInfo", ["GET"])
    async def server_info(request: Request) -> Response:
        cloud = state.mode == "cloud"
        return JSONResponse({
            "baseUrl": base(request),
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.2",
            "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 2],
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100288 if cloud else 9120002,
            "buildDate": "2026-01-01T00:00:00.000+0000",
            "serverTime": now_jira(),
            "scmInfo": "casewright-sandbox",
            "serverTitle": "casewright sandbox (" + ("Cloud" if cloud else "Data Center") + ")",
        })

    @jira_route("/myself", ["GET"])
    async def myself(request: Request) -> Response:
        u = state.user
        if state.mode == "cloud":
            body = {"self": f"{base(request)}/rest/api/2/user?accountId={u['accountId']}", "accountId": u["accountId"],
                    "accountType": "atlassian", "emailAddress": u["email"], "displayName": u["displayName"],
                    "active": True, "timeZone": "UTC", "locale": "en_US"}
        else:
            body = {"self": f"{base(request)}/rest/api/2/user?username={u['name']}", "key": u["name"],
                    "name": u["name"], "emailAddress": u["email"], "displayName": u["displayName"],
                    "active": True, "timeZone": "UTC", "locale": "en_US"}
        return JSONResponse(body)

    @jira_route("/field", ["GET"])
    async def fields(request: Request) -> Response:
        return JSONResponse(state.fields)

    def issuetype_json(request: Request, t: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{base(request)}/rest/api/2/issuetype/{t['id']}", "id": t["id"], "name": t["name"],
                "description": t.get("description", ""), "subtask": t["subtask"],
                "iconUrl": f"{base(request)}/images/icons/issuetypes/{t['name'].lower()}.svg"}

    @jira_route("/issuetype", ["GET"])
    async def issuetypes(request: Request) -> Response:
        return JSONResponse([issuetype_json(request, t) for t in state.issue_types()])

    def project_json(request: Request, p: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{base(request)}/rest/api/2/project/{p['id']}", "id": p["id"], "key": p["key"],
                "name": p["name"], "projectTypeKey": "software", "simplified": False, "style": "classic",
                "issueTypes": [issuetype_json(request, t) for t in state.issue_types(p["key"])]}

    @jira_route("/project", ["GET"])
    async def projects(request: Request) -> Response:
        return JSONResponse([project_json(request, p) for p in state.projects.values()])

    @jira_route("/project/{key}", ["GET"])
    async def project(request: Request, key: str) -> Response:
        for p in state.projects.values():
            if key in (p["key"], p["id"]) or key.upper() == p["key"]:
                return JSONResponse(project_json(request, p))
        raise NotFound(f"No project could be found with key '{key}'.")

    @jira_route("/search", ["GET", "POST"])
    async def search(request: Request) -> Response:
        if state.mode == "cloud":
            return jira_error(410, ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."])
        body = await read_body(request) if request.method == "POST" else None
        src = _search_source(body, request)
        jql = str(src.get("jql") or "")
        start = max(0, _int_param(src, "startAt", 0))
        wanted = _int_param(src, "maxResults", 50)
        limit = max(0, min(wanted, state.max_results))
        hits = run_search(jql)
        expand = src.get("expand")
        if isinstance(expand, list):
            expand = ",".join(expand)
        page = hits[start:start + limit]
        fields = _list_param(request, "fields", body)
        props = _list_param(request, "properties", body)
        out: dict[str, Any] = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(hits),
                               "issues": [render_issue(request, i, fields, expand, props) for i in page]}
        if expand and "names" in expand.split(","):
            out["names"] = {fd["id"]: fd.get("name", fd["id"]) for fd in state.fields}
        return JSONResponse(out)

    @jira_route("/search/jql", ["GET", "POST"])
    async def search_jql(request: Request) -> Response:
        if state.mode != "cloud":
            raise NotFound("null for uri: " + str(request.url))
        body = await read_body(request) if request.method == "POST" else None
        src = _search_source(body, request)
        jql = src.get("jql") or ""
        if not str(jql).strip():
            raise BadRequest(["Unbounded JQL queries are not allowed here. Please add a search restriction to your query."])
        wanted = _int_param(src, "maxResults", 50)
        limit = max(1, min(wanted, state.max_results))
        qhash = hashlib.sha1(str(jql).encode()).hexdigest()[:10]
        offset = 0
        token = src.get("nextPageToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                if decoded["q"] != qhash:
                    raise ValueError
                offset = int(decoded["o"])
            except Exception:  # noqa: BLE001
                raise BadRequest(["The provided next page token is invalid or expired."]) from None
        hits = run_search(str(jql))
        page = hits[offset:offset + limit]
        expand = src.get("expand")
        if isinstance(expand, list):
            expand = ",".join(expand)
        fields = _list_param(request, "fields", body)
        props = _list_param(request, "properties", body)
        out: dict[str, Any] = {"issues": [render_issue(request, i, fields, expand, props, default_all=False) for i in page]}
        if offset + limit < len(hits):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                json.dumps({"o": offset + limit, "q": qhash}).encode()).decode()
            out["isLast"] = False
        else:
            out["isLast"] = True
        return JSONResponse(out)

    @jira_route("/issue", ["POST"])
    async def create_issue(request: Request) -> Response:
        issue = state.create_issue(await read_body(request))
        return JSONResponse({"id": issue["id"], "key": issue["key"], "self": issue_url(request, issue)}, status_code=201)

    @jira_route("/issue/{key}", ["GET", "PUT", "DELETE"])
    async def issue(request: Request, key: str) -> Response:
        found = state.get_issue(key)
        if request.method == "PUT":
            state.update_issue(found["key"], await read_body(request))
            return Response(status_code=204)
        if request.method == "DELETE":
            for lid in [lid for lid, link in state.links.items() if found["key"] in (link["inward"], link["outward"])]:
                state.delete_link(lid)
            state.issues.pop(found["key"])
            return Response(status_code=204)
        return JSONResponse(render_issue(request, found, _list_param(request, "fields"),
                                         request.query_params.get("expand"), _list_param(request, "properties")))

    @jira_route("/issue/{key}/comment", ["GET", "POST"])
    async def comments(request: Request, key: str) -> Response:
        found = state.get_issue(key)
        if request.method == "POST":
            c = state.add_comment(key, await read_body(request))
            return JSONResponse(render_comment(request, found, c), status_code=201)
        allc = state.comments.get(found["id"], [])
        start = max(0, _int_param(request.query_params, "startAt", 0))
        limit = _int_param(request.query_params, "maxResults", 5000)
        page = allc[start:start + limit]
        return JSONResponse({"startAt": start, "maxResults": limit, "total": len(allc),
                             "comments": [render_comment(request, found, c) for c in page]})

    @jira_route("/issue/{key}/comment/{cid}", ["GET", "PUT", "DELETE"])
    async def comment(request: Request, key: str, cid: str) -> Response:
        found = state.get_issue(key)
        if request.method == "PUT":
            c = state.update_comment(key, cid, await read_body(request))
            return JSONResponse(render_comment(request, found, c))
        c = state.get_comment(key, cid)
        if request.method == "DELETE":
            state.comments[found["id"]].remove(c)
            return Response(status_code=204)
        return JSONResponse(render_comment(request, found, c))

    @jira_route("/issue/{key}/transitions", ["GET", "POST"])
    async def transitions(request: Request, key: str) -> Response:
        found = state.get_issue(key)
        if request.method == "GET":
            return JSONResponse({"expand": "transitions", "transitions": state.workflow.transitions(base(request), found)})
        body = await read_body(request)
        spec = body.get("transition") if isinstance(body, dict) else None
        wanted = spec.get("id") if isinstance(spec, dict) else None
        if not wanted:
            raise BadRequest(["Missing 'transition' identifier"])
        try:
            state.workflow.apply(base(request), found, str(wanted))
        except WorkflowError as exc:
            raise BadRequest([str(exc)]) from None
        found["fields"]["updated"] = now_jira()
        return Response(status_code=204)

    def link_type_json(request: Request, lt: dict[str, Any]) -> dict[str, Any]:
        return {"id": lt["id"], "name": lt["name"], "inward": lt["inward"], "outward": lt["outward"],
                "self": f"{base(request)}/rest/api/2/issueLinkType/{lt['id']}"}

    @jira_route("/issueLinkType", ["GET"])
    async def link_types(request: Request) -> Response:
        return JSONResponse({"issueLinkTypes": [link_type_json(request, lt) for lt in state.link_types]})

    @jira_route("/issueLinkType/{lid}", ["GET"])
    async def link_type(request: Request, lid: str) -> Response:
        return JSONResponse(link_type_json(request, state.link_type({"id": lid})))

    @jira_route("/issueLink", ["POST"])
    async def create_link(request: Request) -> Response:
        state.create_link(await read_body(request))
        return Response(status_code=201)

    @jira_route("/issueLink/{lid}", ["GET", "DELETE"])
    async def issue_link(request: Request, lid: str) -> Response:
        if request.method == "DELETE":
            state.delete_link(lid)
            return Response(status_code=204)
        link = state.links.get(lid)
        if link is None:
            raise NotFound(f"No issue link with id '{lid}' exists.")
        return JSONResponse({"id": lid, "self": f"{base(request)}/rest/api/2/issueLink/{lid}",
                             "type": link_type_json(request, link["type"]),
                             "inwardIssue": state._brief(state.issues[link["inward"]]),
                             "outwardIssue": state._brief(state.issues[link["outward"]])})

    @jira_route("/issue/{key}/properties", ["GET"])
    async def property_keys(request: Request, key: str) -> Response:
        found = state.get_issue(key)
        props = state.properties.get(found["id"], {})
        return JSONResponse({"keys": [{"self": f"{issue_url(request, found)}/properties/{k}", "key": k} for k in props]})

    @jira_route("/issue/{key}/properties/{pkey}", ["GET", "PUT", "DELETE"])
    async def issue_property(request: Request, key: str, pkey: str) -> Response:
        found = state.get_issue(key)
        props = state.properties.setdefault(found["id"], {})
        if request.method == "PUT":
            raw = await request.body()
            try:
                value = json.loads(raw)
            except ValueError:
                raise BadRequest(["The property value must be valid JSON."]) from None
            if len(raw) > 32768:
                raise BadRequest(["The property value is too long: the limit is 32768 bytes."])
            created = pkey not in props
            props[pkey] = value
            return Response(status_code=201 if created else 200)
        if pkey not in props:
            raise NotFound(f"The property with key '{pkey}' does not exist.")
        if request.method == "DELETE":
            del props[pkey]
            return Response(status_code=204)
        return JSONResponse({"key": pkey, "value": props[pkey]})

    @jira_route("/issue/{key}/remotelink", ["GET", "POST"])
    async def remote_links(request: Request, key: str) -> Response:
        found = state.get_issue(key)
        links = state.remote_links.setdefault(found["id"], [])
        if request.method == "POST":
            body = await read_body(request)
            if not (body.get("object") or {}).get("url"):
                raise BadRequest([], {"object": "'object.url' is required."})
            for existing in links:
                if body.get("globalId") and existing.get("globalId") == body["globalId"]:
                    existing.update(body)
                    return JSONResponse({"id": existing["id"], "self": f"{issue_url(request, found)}/remotelink/{existing['id']}"})
            link = dict(body, id=int(state.new_id()))
            links.append(link)
            return JSONResponse({"id": link["id"], "self": f"{issue_url(request, found)}/remotelink/{link['id']}"},
                                status_code=201)
        out = []
        for link in links:
            item = dict(link)
            item["self"] = f"{issue_url(request, found)}/remotelink/{link['id']}"
            out.append(item)
        return JSONResponse(out)

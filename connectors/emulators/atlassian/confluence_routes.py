"""The emulator's Confluence REST v1 routes, at the root path.

/rest/api/search and /rest/api/content/search (CQL), /rest/api/content/{id},
/rest/api/content/{id}/child/page, /rest/api/content?spaceKey&title, in Confluence's own
response and error shapes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emulators.atlassian.cql import CqlError, compile_cql
from connectors.emulators.atlassian.responses import base, confluence_error
from connectors.emulators.atlassian.state import NotFound, SandboxState


def register_confluence_routes(app: FastAPI, state: SandboxState) -> None:
    """Add the Confluence routes, answering from `state`."""

    def render_page(request: Request, page: dict[str, Any], expand: str | None) -> dict[str, Any]:
        parts = {p.strip() for p in (expand or "").split(",") if p.strip()}
        space = page.get("space") or {}
        out: dict[str, Any] = {"id": page["id"], "type": page.get("type", "page"), "status": page.get("status", "current"),
                               "title": page["title"]}
        if any(p.startswith("space") for p in parts):
            out["space"] = {"key": space.get("key", ""), "name": space.get("name", space.get("key", "")),
                            "type": "global"}
        if any(p.startswith("version") for p in parts):
            out["version"] = page.get("version") or {"number": 1}
        if any(p.startswith("ancestors") for p in parts):
            out["ancestors"] = [render_page(request, state.pages[a["id"]], None) if a["id"] in state.pages else a
                                for a in page.get("ancestors") or []]
        if any(p.startswith("body.storage") for p in parts):
            storage = ((page.get("body") or {}).get("storage") or {})
            out["body"] = {"storage": {"value": storage.get("value", ""), "representation": "storage"}}
        if any(p.startswith("metadata.labels") for p in parts):
            out["metadata"] = {"labels": {"results": (((page.get("metadata") or {}).get("labels") or {}).get("results")) or [],
                                          "start": 0, "limit": 200, "size": 0}}
            out["metadata"]["labels"]["size"] = len(out["metadata"]["labels"]["results"])
        if page.get("history") and any(p.startswith("history") for p in parts):
            out["history"] = page["history"]
        out["_links"] = {"webui": f"/spaces/{space.get('key', '')}/pages/{page['id']}",
                         "self": f"{base(request)}/rest/api/content/{page['id']}",
                         "tinyui": f"/x/{page['id']}"}
        return out

    def confluence_route(path: str):  # noqa: ANN202
        def deco(fn):  # noqa: ANN001, ANN202
            async def handler(request: Request) -> Response:
                try:
                    return await fn(request, **request.path_params)
                except NotFound as exc:
                    return confluence_error(404, str(exc))
                except CqlError as exc:
                    return confluence_error(400, str(exc))
                except ValueError as exc:
                    return confluence_error(400, str(exc))
            app.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
            return fn
        return deco

    def paged(request: Request, items: list[Any], path: str, extra: dict[str, str]) -> dict[str, Any]:
        start = int(request.query_params.get("start") or 0)
        limit = max(1, min(int(request.query_params.get("limit") or 25), state.max_results))
        page = items[start:start + limit]
        links: dict[str, str] = {"base": base(request), "context": ""}
        if start + limit < len(items):
            links["next"] = f"{path}?" + urlencode({**extra, "start": start + limit, "limit": limit})
        return {"results": page, "start": start, "limit": limit, "size": len(page), "_links": links}

    def cql_hits(cql: str) -> list[dict[str, Any]]:
        pred = compile_cql(cql)
        return sorted((p for p in state.pages.values() if pred(p)), key=lambda p: (p["title"], p["id"]))

    @confluence_route("/rest/api/search")
    async def cql_search(request: Request) -> Response:
        cql = request.query_params.get("cql") or ""
        expand = request.query_params.get("expand") or ""
        content_expand = ",".join(p[len("content."):] for p in expand.split(",") if p.startswith("content."))
        hits = cql_hits(cql)
        results = [{"content": render_page(request, p, content_expand), "title": p["title"],
                    "excerpt": "", "url": f"/spaces/{(p.get('space') or {}).get('key', '')}/pages/{p['id']}",
                    "entityType": "content", "lastModified": (p.get("version") or {}).get("when", "")}
                   for p in hits]
        extra = {"cql": cql}
        if expand:
            extra["expand"] = expand
        out = paged(request, results, "/rest/api/search", extra)
        out["totalSize"] = len(results)
        out["cqlQuery"] = cql
        return JSONResponse(out)

    @confluence_route("/rest/api/content/search")
    async def content_search(request: Request) -> Response:
        cql = request.query_params.get("cql") or ""
        expand = request.query_params.get("expand")
        results = [render_page(request, p, expand) for p in cql_hits(cql)]
        extra = {"cql": cql, **({"expand": expand} if expand else {})}
        return JSONResponse(paged(request, results, "/rest/api/content/search", extra))

    @confluence_route("/rest/api/content")
    async def content_list(request: Request) -> Response:
        space = request.query_params.get("spaceKey")
        title = request.query_params.get("title")
        expand = request.query_params.get("expand")
        pages = [p for p in state.pages.values()
                 if (not space or (p.get("space") or {}).get("key") == space) and (not title or p["title"] == title)]
        results = [render_page(request, p, expand) for p in sorted(pages, key=lambda p: p["id"])]
        extra = {k: v for k, v in (("spaceKey", space), ("title", title), ("expand", expand)) if v}
        return JSONResponse(paged(request, results, "/rest/api/content", extra))

    @confluence_route("/rest/api/content/{page_id}")
    async def content(request: Request, page_id: str) -> Response:
        page = state.pages.get(page_id)
        if page is None:
            raise NotFound(f"No content found with id: ContentId{{id={page_id}}}")
        return JSONResponse(render_page(request, page, request.query_params.get("expand")))

    @confluence_route("/rest/api/content/{page_id}/child/page")
    async def children(request: Request, page_id: str) -> Response:
        expand = request.query_params.get("expand")
        kids = [render_page(request, p, expand) for p in state.page_children(page_id)]
        extra = {"expand": expand} if expand else {}
        return JSONResponse(paged(request, kids, f"/rest/api/content/{page_id}/child/page", extra))

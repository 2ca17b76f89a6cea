"""The Xray Cloud emulator as a FastAPI app, mounted by the sandbox under /xray (so
XRAY_URL=http://HOST:PORT/xray): `POST /api/v2/authenticate` (client id + secret -> a bearer token,
as a JSON string, that expires) and `POST /api/v2/graphql` (the schema in schema.py, executed with
graphql-core). Invalid documents are answered 400 with GraphQL errors, as Xray does; errors while
executing are answered 200 with `errors` beside `data`. Writes are the mutations.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from graphql import GraphQLError, build_schema, execute, parse, validate

from connectors.emulators.gate import Gate, install_gate
from connectors.emulators.xray.resolvers import XrayRoot
from connectors.emulators.xray.schema import SDL
from connectors.emulators.xray.state import XrayState

AUTH_FAILED = "Authentication failed. Invalid client credentials!"
TOKEN_FAILED = "Authentication failed: the bearer token is missing, invalid or expired; authenticate again."


def error(status: int, message: str, path: str = "") -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _is_mutation(path: str, body: Any) -> bool:
    if not path.endswith("/graphql") or not isinstance(body, dict):
        return False
    try:
        doc = parse(str(body.get("query") or ""))
    except GraphQLError:
        return False
    return any(getattr(d, "operation", None) is not None and d.operation.value == "mutation" for d in doc.definitions)


def create_xray_app(state: XrayState) -> FastAPI:
    app = FastAPI(title="casewright Xray Cloud emulator", docs_url=None, redoc_url=None, openapi_url=None)
    schema = build_schema(SDL)
    root = XrayRoot(state)

    def authorised(request: Request) -> bool:
        if request.url.path.endswith("/api/v2/authenticate") or not state.credentials.enforced:
            return True
        header = request.headers.get("authorization", "")
        return header.lower().startswith("bearer ") and state.token_valid(header[7:].strip())

    install_gate(app, Gate(requests=state.requests, faults=state.faults,
                           is_write=lambda method, path, body: method == "POST" and _is_mutation(path, body),
                           authorised=authorised, error=error, unauthorised=lambda path: error(401, TOKEN_FAILED)))

    @app.post("/api/v2/authenticate", include_in_schema=False)
    async def authenticate(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("client_id") or not body.get("client_secret"):
            return error(400, "The body must be a JSON object with client_id and client_secret.")
        token = state.authenticate(body["client_id"], body["client_secret"])
        if token is None:
            return error(401, AUTH_FAILED)
        return JSONResponse(token)

    @app.post("/api/v2/graphql", include_in_schema=False)
    async def graphql(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse({"errors": [{"message": "Must provide a query string."}]}, status_code=400)
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return JSONResponse({"errors": [exc.formatted]}, status_code=400)
        problems = validate(schema, document)
        if problems:
            return JSONResponse({"errors": [p.formatted for p in problems]}, status_code=400)
        result = execute(schema, document, root_value=root, variable_values=body.get("variables") or None,
                         operation_name=body.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
            if result.data is None:  # the variables did not fit the operation
                return JSONResponse(out, status_code=400)
        return JSONResponse(out)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def unknown(request: Request, rest: str) -> Response:
        return error(404, f"The Xray emulator does not serve {request.method} /{rest}.")

    return app

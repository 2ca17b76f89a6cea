"""What the Jira and Confluence halves of the emulator answer alike: their error bodies, the
Jira path prefixes, and the base URL that `self` links are built on."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

JIRA_PREFIXES = ("/rest/api/2", "/rest/api/latest")


def jira_error(status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": messages or [], "errors": errors or {}}, status_code=status)


def confluence_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "data": {"authorized": status != 401, "valid": False,
                                                         "errors": [], "successful": False},
                         "message": message}, status_code=status)


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")

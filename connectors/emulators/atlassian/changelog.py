"""The emulator's issue change history, in Jira's shapes (Changelog, ChangeDetails).

Every edit of an issue (PUT /issue/{key}) that changes field values adds one history: its id, the
author, `created`, and one item per field changed with `field` (the field's name as Jira gives
it: `description`, `summary`, `labels`, or a custom field's name), `fieldtype` (jira or custom),
`fieldId`, and the values before and after (`from`/`to`, `fromString`/`toString`). A seeded issue
may carry its own history (`changelog.histories`, as `expand=changelog` returns it).

Served as Jira serves it:
- `GET /issue/{key}?expand=changelog`: a `changelog` PageOfChangelogs (startAt, maxResults, total,
  histories, oldest first), on Cloud and Data Center;
- `GET /issue/{key}/changelog?startAt=&maxResults=`: a PageBeanChangelog (self, nextPage,
  maxResults, startAt, total, isLast, values), Cloud only.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.emulators.atlassian.responses import JIRA_PREFIXES, base, jira_error
from connectors.markup import to_text

SandboxState = Any
"""state.py's SandboxState (not imported: state.py records its histories through this module)."""

EXPAND_LIMIT = 100
"""Histories `expand=changelog` returns at most (Jira Cloud's cap; SandboxState.changelog_expand_limit
sets another); the rest come from /changelog."""


def as_string(value: Any) -> str | None:
    """A field value as the changelog's fromString/toString shows it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "doc":  # ADF (API v3): its text
        return to_text(value)
    if isinstance(value, list):
        return " ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or value.get("key") or json.dumps(value))
    return str(value)


def seed_history(state: SandboxState, raw: dict[str, Any], issue: dict[str, Any]) -> None:
    """The history a seeded issue carries, kept as given."""
    histories = ((raw.get("changelog") or {}).get("histories")) or []
    if histories:
        state.changelog[issue["id"]] = [copy.deepcopy(h) for h in histories]
    issue.pop("changelog", None)


def record_change(state: SandboxState, issue: dict[str, Any], before: dict[str, Any], stamp: str) -> None:
    """One history, made at `stamp`, for the fields whose values differ between `before` and the issue now."""
    names = {f["id"]: (f.get("name") or f["id"], bool(f.get("custom"))) for f in state.fields}
    items = []
    for fid, value in issue["fields"].items():
        if fid in ("updated", "comment") or before.get(fid) == value:
            continue
        name, custom = names.get(fid, (fid, fid.startswith("customfield_")))
        old, new = as_string(before.get(fid)), as_string(value)
        items.append({"field": fid if not custom else name, "fieldtype": "custom" if custom else "jira",
                      "fieldId": fid, "from": None, "fromString": old, "to": None, "toString": new})
    if items:
        state.changelog.setdefault(issue["id"], []).append(
            {"id": state.new_id(), "author": state.author(), "created": stamp, "items": items})


def expanded_changelog(state: SandboxState, issue: dict[str, Any]) -> dict[str, Any]:
    """The `changelog` of an issue read with expand=changelog."""
    histories = state.changelog.get(issue["id"], [])
    cap = state.changelog_expand_limit
    return {"startAt": 0, "maxResults": min(len(histories), cap), "total": len(histories),
            "histories": copy.deepcopy(histories[:cap])}


def register_changelog_routes(app: FastAPI, state: SandboxState) -> None:
    async def changelog(request: Request, key: str) -> JSONResponse:
        if state.mode != "cloud":
            return jira_error(404, ["null for uri: " + str(request.url)])
        try:
            issue = state.get_issue(key)
        except LookupError as exc:  # the state's NotFound
            return jira_error(404, [str(exc)])
        try:
            start = max(0, int(request.query_params.get("startAt", 0)))
            size = max(1, min(int(request.query_params.get("maxResults", state.max_results)), state.max_results))
        except ValueError:
            return jira_error(400, ["startAt and maxResults must be numbers"])
        histories = state.changelog.get(issue["id"], [])
        page = histories[start:start + size]
        last = start + len(page) >= len(histories)
        self_url = f"{base(request)}{request.url.path}?startAt={start}&maxResults={size}"
        out: dict[str, Any] = {"self": self_url, "maxResults": size, "startAt": start, "total": len(histories),
                               "isLast": last, "values": copy.deepcopy(page)}
        if not last:
            out["nextPage"] = f"{base(request)}{request.url.path}?startAt={start + size}&maxResults={size}"
        return JSONResponse(out)

    for prefix in JIRA_PREFIXES:
        app.add_api_route(prefix + "/issue/{key}/changelog", changelog, methods=["GET"], include_in_schema=False)

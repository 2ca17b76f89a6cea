"""Low-level writes to Jira with the `jira` client, each with bounded retries (see atlassian_http):
create and update issues, issue properties, labels, issue links (type resolved from
/issueLinkType), comments, workflow transitions. The planning (what to write, idempotency, conflicts) lives in
agent/writeback/; this module only performs single operations and reports failures clearly.

Creating is not idempotent on the wire: when a create (issue or comment) fails in a way that may
have been applied (5xx, a dropped connection), the caller can pass `find_existing`, which is
asked before each retry whether the object already exists, so a lost response never becomes a
duplicate.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from connectors.atlassian_http import JIRA, AtlassianError, RetryPolicy, TransientError, call, jira_client
from connectors.errors import CasewrightError
from connectors.jira_keys import issue_ref_path, project_path, segment

FindExisting = Callable[[], str | None]


class JiraWriter:
    def __init__(self, url: str, *, email: str | None = None, api_token: str | None = None,
                 pat: str | None = None, retry: RetryPolicy | None = None, client: Any = None) -> None:
        self.url = url.rstrip("/")
        self.client = client or jira_client(url, email=email, api_token=api_token, pat=pat)
        self.retry = retry or RetryPolicy()
        self._link_types: list[dict[str, Any]] | None = None
        self.writes = 0
        self.sleep = time.sleep

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, fn, what: str):  # noqa: ANN001, ANN202
        return call(fn, what=what, service=JIRA, policy=self.retry, url=self.url)

    def _url(self, path: str) -> str:
        return self.client._get_url(path)

    def _post(self, path: str, body: Any) -> Any:
        self.writes += 1
        return self.client._session.post(self._url(path), data=json.dumps(body))

    def _put(self, path: str, body: Any) -> Any:
        self.writes += 1
        return self.client._session.put(self._url(path), data=json.dumps(body))

    def _create(self, what: str, send: Callable[[], Any], find_existing: FindExisting | None) -> tuple[Any, str | None]:
        """Send a create; on a failure that may have been applied, look before sending again."""
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and find_existing is not None:
                existing = self._call(find_existing, f"look for a {what.split(' ', 1)[0]} an earlier attempt made")
                if existing:
                    return None, existing
            try:
                return call(send, what=what, service=JIRA, url=self.url, policy=RetryPolicy(attempts=1)), None
            except TransientError as exc:
                if attempt >= self.retry.attempts:
                    raise TransientError(str(exc).replace(" 1 attempts)", f" {attempt} attempts)").replace(
                        "(1 attempts)", f"({attempt} attempts)"), exc.status) from None
                wait = exc.retry_after if exc.retry_after is not None else self.retry.backoff(attempt)
                self.sleep(min(wait, self.retry.max_wait_s))

    # -- reads used by the planner ------------------------------------------------------------------
    def search(self, jql: str, *, fields: str = "*all", properties: str | None = None,
               page_size: int = 100) -> list[dict[str, Any]]:
        cloud = self.client.deploymentType == "Cloud"
        out: list[dict[str, Any]] = []
        if cloud:
            token: str | None = None
            while True:
                page = self._call(lambda: self.client.enhanced_search_issues(
                    jql, nextPageToken=token, maxResults=page_size, fields=fields, properties=properties,
                    json_result=True), f"search issues ({jql})")
                out.extend(page.get("issues") or [])
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return out
        start = 0
        while True:
            page = self._call(lambda: self.client.search_issues(
                jql, startAt=start, maxResults=page_size, fields=fields, properties=properties,
                json_result=True), f"search issues ({jql})")
            issues = page.get("issues") or []
            out.extend(issues)
            start += len(issues)
            if not issues or start >= int(page.get("total") or 0):
                return out

    def detect_deployment(self) -> str:
        info = self._call(self.client.server_info, "read /serverInfo")
        self.client.deploymentType = (info or {}).get("deploymentType")
        return "cloud" if self.client.deploymentType == "Cloud" else "datacenter"

    def get_issue(self, key: str, *, fields: str = "*all", properties: str | None = None) -> dict[str, Any]:
        params = {"fields": fields, **({"properties": properties} if properties else {})}
        path = f"issue/{issue_ref_path(key)}"
        return self._call(lambda: self.client._get_json(path, params=params), f"read issue {key}")

    def project(self, key: str) -> dict[str, Any]:
        return self._call(lambda: self.client._get_json(f"project/{project_path(key)}"), f"read project {key}")

    # -- issues -------------------------------------------------------------------------------------
    def create_issue(self, fields: dict[str, Any], *, find_existing: FindExisting | None = None,
                     properties: dict[str, Any] | None = None) -> str:
        """Create an issue; returns its key. `fields` is the REST v2 `fields` object; `properties`
        (key -> JSON value) are set with the create, in the same request."""
        summary = str(fields.get("summary", ""))[:60]
        body: dict[str, Any] = {"fields": fields}
        if properties:
            body["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        resp, existing = self._create(f"create issue '{summary}'", lambda: self._post("issue", body), find_existing)
        if existing:
            return existing
        body = resp.json()
        if "key" not in body:
            raise AtlassianError(f"Jira did not return a key for the created issue '{summary}'")
        return body["key"]

    def update_fields(self, key: str, fields: dict[str, Any], update: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"fields": fields}
        if update:
            body["update"] = update
        self._call(lambda: self._put(f"issue/{issue_ref_path(key)}", body), f"update issue {key}")

    def add_labels(self, key: str, labels: list[str]) -> None:
        if labels:
            self.update_fields(key, {}, {"labels": [{"add": lb} for lb in labels]})

    # -- workflow ------------------------------------------------------------------------------------
    def transitions(self, key: str) -> list[dict[str, Any]]:
        """The transitions the issue's workflow offers from its current status (each with its `to` status)."""
        path = f"issue/{issue_ref_path(key)}/transitions"
        raw = self._call(lambda: self.client._get_json(path), f"read the transitions of {key}")
        return list((raw or {}).get("transitions") or [])

    def transition(self, key: str, transition_id: str) -> None:
        path = f"issue/{issue_ref_path(key)}/transitions"
        self._call(lambda: self._post(path, {"transition": {"id": str(transition_id)}}),
                   f"move {key} by transition {transition_id}")

    # -- properties ----------------------------------------------------------------------------------
    def set_property(self, key: str, prop: str, value: Any) -> None:
        path = f"issue/{issue_ref_path(key)}/properties/{segment(prop)}"
        self._call(lambda: self._put(path, value), f"set property {prop} on {key}")

    def get_property(self, key: str, prop: str) -> Any | None:
        try:
            raw = self._call(lambda: self.client._get_json(f"issue/{issue_ref_path(key)}/properties/{segment(prop)}"),
                             f"read property {prop} of {key}")
        except AtlassianError as exc:
            if exc.status == 404:
                return None
            raise
        return (raw or {}).get("value")

    # -- links ----------------------------------------------------------------------------------------
    def link_types(self) -> list[dict[str, Any]]:
        if self._link_types is None:
            raw = self._call(lambda: self.client._get_json("issueLinkType"), "read issue link types (/issueLinkType)")
            self._link_types = list((raw or {}).get("issueLinkTypes") or [])
        return self._link_types

    def resolve_link_type(self, wanted: str) -> tuple[dict[str, Any], bool]:
        """The link type named `wanted` (by name, outward or inward description, any case).

        Returns (type, reversed): reversed is True when `wanted` matched the inward description,
        i.e. "A <wanted> B" must be sent as "B <outward> A"."""
        low = wanted.strip().lower()
        types = self.link_types()
        for lt in types:
            if str(lt.get("name", "")).lower() == low or str(lt.get("outward", "")).lower() == low:
                return lt, False
        for lt in types:
            if str(lt.get("inward", "")).lower() == low:
                return lt, True
        names = ", ".join(f"{lt.get('name')} ({lt.get('outward')}/{lt.get('inward')})" for lt in types)
        raise CasewrightError(f"Jira has no issue link type '{wanted}'; set CASEWRIGHT_TEST_LINK_TYPE to one of: {names}")

    def link(self, link_type: str, from_key: str, to_key: str) -> None:
        """Create "from_key <link_type> to_key", e.g. link('Tests', 'ER-41', 'ER-2'): ER-41 tests ER-2."""
        lt, reverse = self.resolve_link_type(link_type)
        inward, outward = (to_key, from_key) if reverse else (from_key, to_key)
        body = {"type": {"name": lt["name"]}, "inwardIssue": {"key": inward}, "outwardIssue": {"key": outward}}
        self._call(lambda: self._post("issueLink", body), f"link {from_key} to {to_key} ({lt['name']})")

    def is_linked(self, issue: dict[str, Any], link_type: str, other_key: str) -> bool:
        lt, _ = self.resolve_link_type(link_type)
        for link in (issue.get("fields") or {}).get("issuelinks") or []:
            other = link.get("inwardIssue") or link.get("outwardIssue") or {}
            if other.get("key") == other_key and str((link.get("type") or {}).get("name")) == lt["name"]:
                return True
        return False

    # -- comments ----------------------------------------------------------------------------------
    def comments(self, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self._call(lambda: self.client._get_json(f"issue/{issue_ref_path(key)}/comment",
                                                            params={"startAt": start, "maxResults": 100}),
                              f"read the comments of {key}")
            batch = page.get("comments") or []
            out.extend(batch)
            start += len(batch)
            if not batch or start >= int(page.get("total") or 0):
                return out

    def add_comment(self, key: str, body: str, *, find_existing: FindExisting | None = None) -> str:
        path = f"issue/{issue_ref_path(key)}/comment"
        resp, existing = self._create(f"comment on {key}", lambda: self._post(path, {"body": body}), find_existing)
        if existing:
            return existing
        return str(resp.json()["id"])

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        self._call(lambda: self._put(f"issue/{issue_ref_path(key)}/comment/{segment(comment_id)}", {"body": body}),
                   f"update comment {comment_id} on {key}")


def writer_for(url: str, *, email: str | None = None, api_token: str | None = None, pat: str | None = None,
               deployment: str = "auto", retry: RetryPolicy | None = None) -> JiraWriter:
    w = JiraWriter(url, email=email, api_token=api_token, pat=pat, retry=retry)
    if deployment == "auto":
        w.detect_deployment()
    else:
        w.client.deploymentType = "Cloud" if deployment == "cloud" else "Server"
    return w

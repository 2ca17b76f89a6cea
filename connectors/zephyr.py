"""Zephyr Scale Cloud (REST API v2, over httpx): test cases with name, objective, precondition,
priority, labels and folder, their step-by-step script written with `mode: OVERWRITE`, their link to
the story by its numeric Jira issue id, and the identity record in a custom field of the project
(ZEPHYR_IDENTITY_FIELD, default "casewright", a multi-line text field an administrator adds).

A create runs as: the test case (labelled `casewright-incomplete`, its identity already in the
custom field), its steps, its link, then the label comes off; `update()` finishes an interrupted
one. Retiring sets the status (default "Deprecated") and the label `casewright-retired`. Every call
has the bounded 429/5xx retries of connectors/atlassian_http.py; the token is never logged.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from connectors.atlassian_http import AtlassianError, RetryPolicy, Service, call
from connectors.errors import CasewrightError
from connectors.managed_cases import (
    LABEL,
    PENDING_LABEL,
    RETIRED_LABEL,
    ManagedCase,
    StoredCase,
    create_once,
    decode_identity,
    encode_identity,
    matching,
    one_line,
)

DEFAULT_URL = "https://api.zephyrscale.smartbear.com/v2"
ZEPHYR = Service("Zephyr Scale", "check ZEPHYR_API_TOKEN (Zephyr Scale > API Access Tokens) and ZEPHYR_URL")
PAGE = 100


def _precondition(case: ManagedCase) -> str:
    return "\n".join(p.strip() for p in case.preconditions)


def _differs(body: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether a PUT of `body` would change the test case (references compared by id)."""
    if any((body.get(k) or None) != (current.get(k) or None) for k in ("name", "objective", "precondition",
                                                                      "labels", "customFields")):
        return True
    return any(((body.get(k) or {}).get("id")) != ((current.get(k) or {}).get("id")) for k in ("priority", "status"))


def _steps(case: ManagedCase) -> list[dict[str, str]]:
    return [{"description": s.action, "testData": s.data or "", "expectedResult": s.expected or ""}
            for s in case.steps]


class ZephyrScale:
    def __init__(self, url: str | None, token: str | None, *, project_key: str, identity_field: str = "casewright",
                 retired_status: str = "Deprecated", retry: RetryPolicy | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise CasewrightError("ZEPHYR_API_TOKEN is not set; create a token under Zephyr Scale > API Access Tokens")
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.project_key = project_key
        self.identity_field = identity_field
        self.retired_status = retired_status
        self.retry = retry or RetryPolicy()
        self.sleep = time.sleep
        self.writes = 0
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ZephyrScale(url={self.url!r}, project={self.project_key!r})"

    # -- plumbing ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        if method != "GET":
            self.writes += 1
        resp = self.http.request(method, path, json=json, params=params)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        return call(lambda: self._request(method, path, **kwargs), what=what, service=ZEPHYR, policy=self.retry,
                    url=self.url, sleep=self.sleep)

    def _all(self, path: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self._call("GET", path, what, params={**params, "startAt": start, "maxResults": PAGE}) or {}
            values = page.get("values") or []
            out.extend(values)
            start += len(values)
            if page.get("isLast", True) or not values:
                return out

    def _named(self, kind: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
        key = f"{kind}:{params}"
        if key not in self._cache:
            self._cache[key] = self._all(f"/{kind}", {"projectKey": self.project_key, **params}, f"read the {kind}")
        for item in self._cache[key]:
            if str(item.get("name", "")).lower() == name.lower():
                return item
        names = ", ".join(str(i.get("name")) for i in self._cache[key])
        raise CasewrightError(f"Zephyr Scale project {self.project_key} has no {kind[:-1] if kind != 'priorities' else 'priority'} "
                              f"'{name}' (there are: {names}); map the house template's values to these")

    def project(self) -> dict[str, Any]:
        if "project" not in self._cache:
            try:
                self._cache["project"] = self._call("GET", f"/projects/{self.project_key}",
                                                    f"read project {self.project_key}")
            except AtlassianError as exc:
                if exc.status == 404:
                    raise CasewrightError(f"Zephyr Scale has no project {self.project_key} (or it is not enabled for "
                                          "Zephyr Scale); enable it or write back to another project") from None
                raise
        return self._cache["project"]

    # -- reading -------------------------------------------------------------------------------
    def native(self, case: ManagedCase) -> dict[str, Any]:
        return {"name": one_line(case.title), "objective": case.objective.strip(), "precondition": _precondition(case),
                "steps": _steps(case)}

    def _stored(self, tc: dict[str, Any], steps: list[dict[str, Any]]) -> StoredCase:
        status = self._status_name((tc.get("status") or {}).get("id"))
        labels = list(tc.get("labels") or [])
        return StoredCase(
            id=tc["key"], identity=decode_identity((tc.get("customFields") or {}).get(self.identity_field)),
            content={"name": one_line(tc.get("name") or ""), "objective": tc.get("objective") or "",
                     "precondition": tc.get("precondition") or "",
                     "steps": [{"description": (s.get("inline") or {}).get("description") or "",
                                "testData": (s.get("inline") or {}).get("testData") or "",
                                "expectedResult": (s.get("inline") or {}).get("expectedResult") or ""} for s in steps]},
            retired=RETIRED_LABEL in labels or status == self.retired_status, complete=PENDING_LABEL not in labels,
            story_keys=[str(link.get("issueId")) for link in (tc.get("links") or {}).get("issues") or []],
            labels=labels, raw=tc)

    def _status_name(self, status_id: Any) -> str | None:
        key = "statuses:{'statusType': 'TEST_CASE'}"
        if key not in self._cache:
            self._named("statuses", self.retired_status, {"statusType": "TEST_CASE"})
        return next((s["name"] for s in self._cache[key] if str(s["id"]) == str(status_id)), None)

    def test_steps(self, key: str) -> list[dict[str, Any]]:
        return self._all(f"/testcases/{key}/teststeps", {}, f"read the steps of {key}")

    def existing(self) -> list[StoredCase]:
        """Every test case of the project carrying the `casewright` label, with identity and steps."""
        cases = self._all("/testcases", {"projectKey": self.project_key}, f"list the test cases of {self.project_key}")
        ours = [tc for tc in cases if LABEL in (tc.get("labels") or [])]
        return [self._stored(tc, self.test_steps(tc["key"])) for tc in ours]

    def find(self, **identity: Any) -> list[StoredCase]:
        return matching(self.existing(), identity)

    def read(self, key: str) -> StoredCase:
        return self._stored(self._call("GET", f"/testcases/{key}", f"read test case {key}"), self.test_steps(key))

    # -- writing -------------------------------------------------------------------------------
    def ensure_folder(self, path: str) -> int | None:
        """The id of the test-case folder `path` ("casewright/ER-1"), created level by level."""
        parts = [p.strip() for p in path.split("/") if p.strip()]
        folders = self._all("/folders", {"projectKey": self.project_key, "folderType": "TEST_CASE"}, "read the folders")
        parent: int | None = None
        for name in parts:
            found = next((f for f in folders if f.get("name") == name and f.get("parentId") == parent), None)
            if found is None:
                made = self._call("POST", "/folders", f"create the folder {name}", json={
                    "parentId": parent, "name": name, "projectKey": self.project_key, "folderType": "TEST_CASE"})
                found = {"id": made["id"], "name": name, "parentId": parent}
                folders.append(found)
            parent = int(found["id"])
        return parent

    def _custom_fields(self, case: ManagedCase) -> dict[str, Any]:
        return {**case.custom_fields, self.identity_field: encode_identity(case.identity)}

    def _link(self, key: str, case: ManagedCase, have: list[str]) -> None:
        if not case.story_id:
            return
        if not str(case.story_id).isdigit():
            raise CasewrightError(f"Zephyr links test cases to Jira issues by numeric id; '{case.story_id}' for "
                                  f"{case.story_key} is not one")
        if str(case.story_id) not in have:
            self._call("POST", f"/testcases/{key}/links/issues", f"link {key} to {case.story_key}",
                       json={"issueId": int(case.story_id)})

    def _write_steps(self, key: str, case: ManagedCase) -> None:
        if case.steps:
            self._call("POST", f"/testcases/{key}/teststeps", f"write the steps of {key}",
                       json={"mode": "OVERWRITE", "items": [{"inline": s} for s in _steps(case)]})

    def create(self, case: ManagedCase, *, folder: str | None = None) -> str:
        self.project()
        body: dict[str, Any] = {
            "projectKey": self.project_key, "name": one_line(case.title), "objective": case.objective.strip(),
            "precondition": _precondition(case), "labels": [LABEL] + [x for x in case.labels if x != LABEL]
            + [PENDING_LABEL], "customFields": self._custom_fields(case)}
        if case.priority:
            body["priorityName"] = self._named("priorities", case.priority, {})["name"]
        if folder:
            body["folderId"] = self.ensure_folder(folder)
        what = f"create the test case '{case.title[:60]}'"

        def lookup() -> str | None:
            found = self.find(**case.identity) if case.identity else []
            return found[0].id if found else None

        answer, existing = create_once(lambda: self._request("POST", "/testcases", json=body), lookup, what=what,
                                       service=ZEPHYR, policy=self.retry, url=self.url, sleep=self.sleep)
        key = existing or (answer or {}).get("key")
        if not key:
            raise AtlassianError(f"Zephyr Scale did not return the key of the created test case '{case.title[:60]}'")
        self.update(key, case)  # steps, link, and the pending label off
        return key

    def update(self, key: str, case: ManagedCase, *, retire: bool = False) -> None:
        """Make the test case hold `case` (fields, labels, identity, steps, link); `retire` also sets
        the retired status and label."""
        current = self._call("GET", f"/testcases/{key}", f"read test case {key}")
        kept = [x for x in current.get("labels") or [] if not x.startswith(LABEL)]
        retired = retire or RETIRED_LABEL in (current.get("labels") or [])
        labels = list(dict.fromkeys([LABEL, *case.labels, *kept] + ([RETIRED_LABEL] if retired else [])))
        body = dict(current, name=one_line(case.title), objective=case.objective.strip(),
                    precondition=_precondition(case), labels=labels,
                    customFields={**(current.get("customFields") or {}), **self._custom_fields(case)})
        if case.priority:
            body["priority"] = {"id": self._named("priorities", case.priority, {})["id"]}
        if retire:
            body["status"] = {"id": self._named("statuses", self.retired_status, {"statusType": "TEST_CASE"})["id"]}
        # steps and link first: the PUT that takes `casewright-incomplete` off comes last, so a case
        # that stops part-way still says so
        have = self.test_steps(key)
        if [{"description": (s.get("inline") or {}).get("description") or "",
             "testData": (s.get("inline") or {}).get("testData") or "",
             "expectedResult": (s.get("inline") or {}).get("expectedResult") or ""} for s in have] != _steps(case):
            self._write_steps(key, case)
        self._link(key, case, [str(link.get("issueId")) for link in (current.get("links") or {}).get("issues") or []])
        if _differs(body, current):
            self._call("PUT", f"/testcases/{key}", f"update test case {key}", json=body)

    def check(self, case: ManagedCase) -> None:
        """Raise, before any write, what stops this case: no such project, an unknown priority name."""
        self.project()
        if case.priority:
            self._named("priorities", case.priority, {})

    def revive(self, key: str) -> None:
        """Bring a retired test case back: the project's default status, the retired label off."""
        current = self._call("GET", f"/testcases/{key}", f"read test case {key}")
        self._named("statuses", self.retired_status, {"statusType": "TEST_CASE"})
        statuses = self._cache["statuses:{'statusType': 'TEST_CASE'}"]
        default = next((s for s in statuses if s.get("default")), None)
        body = dict(current, labels=[x for x in current.get("labels") or [] if x != RETIRED_LABEL])
        if default is not None and self._status_name((current.get("status") or {}).get("id")) == self.retired_status:
            body["status"] = {"id": default["id"]}
        if _differs(body, current):
            self._call("PUT", f"/testcases/{key}", f"restore test case {key}", json=body)

    def retire(self, key: str) -> None:
        """Set the retired status (ZEPHYR_RETIRED_STATUS) and label; nothing is deleted."""
        current = self._call("GET", f"/testcases/{key}", f"read test case {key}")
        labels = list(current.get("labels") or [])
        status = self._named("statuses", self.retired_status, {"statusType": "TEST_CASE"})
        body = dict(current, labels=labels + ([RETIRED_LABEL] if RETIRED_LABEL not in labels else []),
                    status={"id": status["id"]})
        if _differs(body, current):
            self._call("PUT", f"/testcases/{key}", f"retire test case {key}", json=body)

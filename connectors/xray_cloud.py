"""Xray Cloud: Test issues of the Manual type with their steps, written through Xray's GraphQL API
(gql over httpx), with the Jira side (the "Tests" link to the story, the identity property,
labels) written through Jira's REST API (JiraWriter).

Auth: `POST {XRAY_URL}/api/v2/authenticate` with the client id and secret gives a bearer token; a
401 on a GraphQL call means it expired: the client authenticates again once and resends. Every
call has the bounded 429/5xx retries of connectors/atlassian_http.py; a create whose answer was
lost looks for what it made (by the identity record) before sending again. Secrets are never
logged or put into an error.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError, TransportServerError
from gql.transport.httpx import HTTPXTransport

from connectors.atlassian_http import AtlassianError, RetryPolicy, call
from connectors.errors import CasewrightError
from connectors.jira_writer import JiraWriter
from connectors.managed_cases import (
    IDENTITY_PROPERTY,
    LABEL,
    RETIRED_LABEL,
    ManagedCase,
    StoredCase,
    create_once,
    matching,
)
from connectors.xray_cases import TEST_FIELDS, XRAY, jira_fields, labels_of, native, steps_of, stored

DEFAULT_URL = "https://xray.cloud.getxray.app"
PAGE = 100  # Xray's largest `limit`

DOCUMENTS = {
    "createTest": """mutation CreateTest($jira: JSON!, $steps: [CreateStepInput], $folderPath: String) {
  createTest(testType: {name: "Manual"}, steps: $steps, folderPath: $folderPath, jira: $jira) {
    test { issueId projectId jira(fields: ["key"]) } warnings } }""",
    "getTests": """query GetTests($issueIds: [String], $jql: String, $limit: Int!, $start: Int) {
  getTests(issueIds: $issueIds, jql: $jql, limit: $limit, start: $start) {
    total start limit results { issueId projectId testType { name kind } folder { path }
      steps { id action data result } jira(fields: ["key"]) } } }""",
    "addTestStep": """mutation AddTestStep($issueId: String!, $step: CreateStepInput!) {
  addTestStep(issueId: $issueId, step: $step) { id action data result } }""",
    "updateTestStep": """mutation UpdateTestStep($stepId: String!, $step: UpdateStepInput!) {
  updateTestStep(stepId: $stepId, step: $step) { warnings } }""",
    "removeTestStep": """mutation RemoveTestStep($stepId: String!) { removeTestStep(stepId: $stepId) }""",
    "getFolder": """query GetFolder($projectId: String!, $path: String!) {
  getFolder(projectId: $projectId, path: $path) { name path testsCount folders } }""",
    "createFolder": """mutation CreateFolder($projectId: String!, $path: String!) {
  createFolder(projectId: $projectId, path: $path) { folder { name path } warnings } }""",
    "updateTestFolder": """mutation UpdateTestFolder($issueId: String!, $folderPath: String!) {
  updateTestFolder(issueId: $issueId, folderPath: $folderPath) }""",
    "getTestSets": """query GetTestSets($jql: String, $limit: Int!) {
  getTestSets(jql: $jql, limit: $limit) { total results { issueId jira(fields: ["key"]) } } }""",
    "getTestSetTests": """query GetTestSetTests($issueIds: [String], $limit: Int!, $start: Int) {
  getTestSets(issueIds: $issueIds, limit: 1) { results { issueId tests(limit: $limit, start: $start) {
    total results { issueId } } } } }""",
    "createTestSet": """mutation CreateTestSet($jira: JSON!, $testIssueIds: [String]) {
  createTestSet(testIssueIds: $testIssueIds, jira: $jira) { testSet { issueId jira(fields: ["key"]) } warnings } }""",
    "addTestsToTestSet": """mutation AddTestsToTestSet($issueId: String!, $testIssueIds: [String]!) {
  addTestsToTestSet(issueId: $issueId, testIssueIds: $testIssueIds) { addedTests warning } }""",
}


class XrayError(AtlassianError):
    """Xray answered, but refused the request (GraphQL errors)."""


class _Expired(Exception):
    pass


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_label(epic_key: str) -> str:
    return "casewright-set-" + re.sub(r"[^a-z0-9_.-]+", "-", epic_key.lower()).strip("-")


class XrayCloud:
    def __init__(self, url: str | None, client_id: str | None, client_secret: str | None, *, jira: JiraWriter,
                 project_key: str, link_type: str = "Tests", identity_property: str = IDENTITY_PROPERTY,
                 retry: RetryPolicy | None = None, timeout: float = 30.0) -> None:
        if not client_id or not client_secret:
            raise CasewrightError("Xray credentials are missing: set XRAY_CLIENT_ID and XRAY_CLIENT_SECRET (an API "
                                  "key from Xray's Global Settings > API Keys)")
        self.url = (url or DEFAULT_URL).rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.jira = jira
        self.project_key = project_key
        self.link_type = link_type
        self.identity_property = identity_property
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = time.sleep
        self.writes = 0
        self._token: str | None = None
        self._project_id: str | None = None

    def __repr__(self) -> str:
        return f"XrayCloud(url={self.url!r}, project={self.project_key!r})"

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, fn, what: str):  # noqa: ANN001, ANN202
        return call(fn, what=what, service=XRAY, policy=self.retry, url=self.url, sleep=self.sleep)

    def _authenticate(self) -> str:
        def send() -> str:
            resp = httpx.post(f"{self.url}/api/v2/authenticate", timeout=self.timeout,
                              json={"client_id": self._client_id, "client_secret": self._client_secret})
            resp.raise_for_status()
            token = resp.json()
            if not isinstance(token, str) or not token:
                raise XrayError(f"Xray at {self.url} did not answer authenticate with a token; check XRAY_URL")
            return token
        return self._call(send, "authenticate (POST /api/v2/authenticate)")

    def _send(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        transport = HTTPXTransport(url=f"{self.url}/api/v2/graphql", timeout=self.timeout,
                                   headers={"Authorization": f"Bearer {self._token}"})
        try:
            return Client(transport=transport).execute(GraphQLRequest(document, variable_values=variables))
        except TransportServerError as exc:
            cause = exc.__cause__  # the HTTP client's status error (gql may use httpx or httpx2)
            if exc.code == 401:
                raise _Expired() from None
            if getattr(getattr(cause, "response", None), "status_code", None) is not None:
                raise cause from None
            raise
        except TransportConnectionFailed as exc:
            raise httpx.ConnectError(f"{type(exc.__cause__ or exc).__name__}: {exc}") from None

    def _graphql(self, name: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """One GraphQL call, no retries (the caller decides): authenticates first, and again once when
        the token was refused; GraphQL errors become an XrayError naming `what`."""
        if name in DOCUMENTS and DOCUMENTS[name].lstrip().startswith("mutation"):
            self.writes += 1
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._authenticate()
            try:
                return self._send(DOCUMENTS[name], variables)
            except _Expired:
                self._token = None
                if attempt == 2:
                    raise XrayError(f"Xray refused the bearer token it had just issued while trying to {what}: "
                                    f"{XRAY.credential_hint}", 401) from None
            except TransportQueryError as exc:
                messages = "; ".join(str((e or {}).get("message", e)) for e in exc.errors or []) or str(exc)
                raise XrayError(f"Xray refused to {what}: {messages}") from None
        raise AssertionError("unreachable")

    def _run(self, name: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        return self._call(lambda: self._graphql(name, variables, what), what)

    def project_id(self) -> str:
        if self._project_id is None:
            self._project_id = str(self.jira.project(self.project_key)["id"])
        return self._project_id

    # -- reading -------------------------------------------------------------------------------
    def native(self, case: ManagedCase) -> dict[str, Any]:
        return native(case)

    def _steps(self, issue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for i in range(0, len(issue_ids), PAGE):
            chunk = issue_ids[i:i + PAGE]
            data = self._run("getTests", {"issueIds": chunk, "limit": PAGE, "start": 0},
                             f"read the steps of {len(chunk)} tests")
            for test in (data.get("getTests") or {}).get("results") or []:
                out[str(test["issueId"])] = test.get("steps") or []
        return out

    def existing(self) -> list[StoredCase]:
        """Every casewright Test of the project (label `casewright`), with its identity and steps."""
        jql = f'project = {_quote(self.project_key)} AND issuetype = Test AND labels = {LABEL} ORDER BY key ASC'
        issues = self.jira.search(jql, fields=TEST_FIELDS, properties=self.identity_property)
        steps = self._steps([str(i["id"]) for i in issues])
        return [stored(i, steps.get(str(i["id"]), []), (i.get("properties") or {}).get(self.identity_property),
                       self.link_type) for i in issues]

    def find(self, **identity: Any) -> list[StoredCase]:
        return matching(self.existing(), identity)

    def read(self, key: str) -> StoredCase:
        issue = self.jira.get_issue(key, fields=TEST_FIELDS, properties=self.identity_property)
        steps = self._steps([str(issue["id"])]).get(str(issue["id"]), [])
        return stored(issue, steps, (issue.get("properties") or {}).get(self.identity_property), self.link_type)

    # -- writing -------------------------------------------------------------------------------
    def _finish(self, key: str, case: ManagedCase) -> None:
        """What a create or an update leaves right: the identity property and the link to the story."""
        if self.jira.get_property(key, self.identity_property) != case.identity:
            self.jira.set_property(key, self.identity_property, case.identity)
        issue = self.jira.get_issue(key, fields="issuelinks")
        if not self.jira.is_linked(issue, self.link_type, case.story_key):
            self.jira.link(self.link_type, key, case.story_key)

    def create(self, case: ManagedCase, *, folder: str | None = None) -> str:
        """Create the Test (Manual, with its steps, in `folder` when given); returns its key."""
        if folder:
            folder = self.ensure_folder(folder)
        variables = {"jira": {"fields": jira_fields(case, self.project_key),
                              "properties": [{"key": self.identity_property, "value": case.identity}]},
                     "steps": steps_of(case), "folderPath": folder}
        what = f"create the Test '{case.title[:60]}'"

        def lookup() -> str | None:
            found = self.find(**case.identity) if case.identity else []
            return found[0].id if found else None

        answer, existing = create_once(lambda: self._graphql("createTest", variables, what), lookup, what=what,
                                       service=XRAY, policy=self.retry, url=self.url, sleep=self.sleep)
        key = existing or (((answer or {}).get("createTest") or {}).get("test") or {}).get("jira", {}).get("key")
        if not key:
            raise XrayError(f"Xray did not return the key of the created Test '{case.title[:60]}'")
        self._finish(key, case)
        return key

    def update(self, key: str, case: ManagedCase) -> None:
        """Make the Test hold `case`: its Jira fields and labels, then its steps (each changed step
        updated, missing ones added, surplus ones removed), its identity and its link."""
        current = self.read(key)
        fields = {k: v for k, v in jira_fields(case, self.project_key).items() if k not in ("project", "labels")}
        kept = [x for x in current.labels if not x.startswith(LABEL)]
        labels = sorted(set(labels_of(case) + kept + ([RETIRED_LABEL] if current.retired else [])))
        if current.content["summary"] != fields["summary"] or current.content["description"] != fields["description"] \
                or sorted(current.labels) != labels or "priority" in fields:
            self.jira.update_fields(key, {**fields, "labels": labels})
        issue_id = str(current.raw["id"])
        have = self._steps([issue_id]).get(issue_id, [])
        want = steps_of(case)
        for i, step in enumerate(want):
            if i < len(have):
                if {k: have[i].get(k) or "" for k in ("action", "data", "result")} != step:
                    self._run("updateTestStep", {"stepId": have[i]["id"], "step": step}, f"update step {i + 1} of {key}")
            else:
                self._run("addTestStep", {"issueId": issue_id, "step": step}, f"add step {i + 1} to {key}")
        for extra in have[len(want):]:
            self._run("removeTestStep", {"stepId": extra["id"]}, f"remove a step of {key}")
        self._finish(key, case)

    def retire(self, key: str) -> None:
        """Mark the Test retired (label `casewright-retired`); it is never deleted, its link stays."""
        self.jira.add_labels(key, [RETIRED_LABEL])

    # -- Test Repository folders and Test Sets -----------------------------------------------------
    def ensure_folder(self, path: str) -> str:
        """The Test Repository folder `path` ("/casewright/ER-1"), created level by level when missing."""
        parts = [p.strip() for p in path.split("/") if p.strip()]
        if not parts:
            return "/"
        tree = self._run("getFolder", {"projectId": self.project_id(), "path": "/"}, "read the Test Repository")
        node = (tree.get("getFolder") or {})
        for depth in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:depth])
            child = next((f for f in node.get("folders") or [] if f.get("path") == sub), None)
            if child is None:
                self._run("createFolder", {"projectId": self.project_id(), "path": sub},
                          f"create the Test Repository folder {sub}")
                child = {"path": sub, "folders": []}
            node = child
        return "/" + "/".join(parts)

    def ensure_test_set(self, epic_key: str, summary: str | None = None) -> str:
        """The Test Set casewright keeps for `epic_key` (found by its label, else created); its issue id."""
        label = set_label(epic_key)
        jql = f"project = {_quote(self.project_key)} AND labels = {_quote(label)}"

        def lookup() -> str | None:
            found = (self._run("getTestSets", {"jql": jql, "limit": 1}, f"find the Test Set of {epic_key}")
                     .get("getTestSets") or {}).get("results") or []
            return str(found[0]["issueId"]) if found else None

        existing = lookup()
        if existing:
            return existing
        what = f"create the Test Set of {epic_key}"
        jira = {"fields": {"summary": summary or f"{epic_key}: UAT cases (casewright)",
                           "project": {"key": self.project_key}, "labels": [LABEL, label]}}
        answer, existing = create_once(lambda: self._graphql("createTestSet", {"jira": jira}, what), lookup,
                                       what=what, service=XRAY, policy=self.retry, url=self.url, sleep=self.sleep)
        return existing or str(answer["createTestSet"]["testSet"]["issueId"])

    def test_set_members(self, test_set_id: str) -> list[str]:
        """The issue ids of the tests in a Test Set (paged, 100 at a time)."""
        out: list[str] = []
        while True:
            data = self._run("getTestSetTests", {"issueIds": [test_set_id], "limit": PAGE, "start": len(out)},
                             "read the tests of the Test Set")
            sets = (data.get("getTestSets") or {}).get("results") or []
            page = ((sets[0].get("tests") or {}) if sets else {})
            found = [str(t["issueId"]) for t in page.get("results") or []]
            out.extend(found)
            if not found or len(out) >= int(page.get("total") or 0):
                return out

    def add_to_test_set(self, test_set_id: str, issue_ids: list[str]) -> list[str]:
        data = self._run("addTestsToTestSet", {"issueId": test_set_id, "testIssueIds": list(issue_ids)},
                         f"add {len(issue_ids)} tests to the Test Set")
        return list((data.get("addTestsToTestSet") or {}).get("addedTests") or [])

    def move_to_folder(self, issue_id: str, path: str) -> None:
        self._run("updateTestFolder", {"issueId": issue_id, "folderPath": self.ensure_folder(path)},
                  f"move test {issue_id} to {path}")


"""The Xray emulator's data, beside the shared Jira emulator's: Test issues ARE Jira issues (type
Test, created in the Jira state, so links, labels and issue properties work through Jira's API);
what Xray adds per test is kept here: its test type, its steps (each with an id), its Test
Repository folder, the Test Sets' members, and the bearer tokens Xray Cloud's authenticate issued.

Xray Data Center keeps the test type in a Jira custom field ("Test Type"), which this state adds
to the Jira emulator's fields in datacenter mode; its steps are the same step records.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest
from connectors.emulators.atlassian.state import SandboxState, now_jira

TEST_TYPES = [{"id": "1", "name": "Manual", "kind": "Steps"}, {"id": "2", "name": "Cucumber", "kind": "Gherkin"},
              {"id": "3", "name": "Generic", "kind": "Unstructured"}]
TEST_TYPE_FIELD = {"id": "customfield_11100", "key": "customfield_11100", "name": "Test Type", "custom": True,
                   "orderable": True, "navigable": True, "searchable": True,
                   "clauseNames": ["cf[11100]", "Test Type"],
                   "schema": {"type": "option", "custom": "com.xpandit.plugins.xray:test-type-custom-field",
                              "customId": 11100}}
XRAY_ISSUE_TYPES = [("10100", "Test Set", False), ("10101", "Test Plan", False), ("10102", "Test Execution", False),
                    ("10103", "Precondition", False)]


class XrayInvalid(ValueError):
    """A request Xray refuses, with its message (a GraphQL error, or a 4xx of the REST API)."""


class XrayState:
    def __init__(self, jira: SandboxState, *, credentials: Credentials | None = None,
                 token_ttl_s: float = 24 * 3600) -> None:
        self.jira = jira
        self.credentials = credentials or Credentials()
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, float] = {}                 # token -> expiry (time.time())
        self.tests: dict[str, dict[str, Any]] = {}          # Jira issue id -> {testType, steps, folder, lastModified}
        self.folders: dict[str, set[str]] = {}              # Jira project id -> folder paths ("/" implied)
        self.test_sets: dict[str, list[str]] = {}           # Test Set issue id -> Test issue ids
        known = {name.lower() for _, name, _ in jira.extra_issue_types}
        jira.extra_issue_types.extend(t for t in XRAY_ISSUE_TYPES if t[1].lower() not in known)
        if jira.mode == "datacenter" and not any(f["id"] == TEST_TYPE_FIELD["id"] for f in jira.fields):
            jira.fields.append(dict(TEST_TYPE_FIELD))

    # -- tokens ------------------------------------------------------------------------------
    def authenticate(self, client_id: Any, client_secret: Any) -> str | None:
        creds = self.credentials
        if creds.enforced and (client_id != creds.email or client_secret != creds.api_token):
            return None
        token = "eyJ" + secrets.token_urlsafe(48)
        self.tokens[token] = time.time() + self.token_ttl_s
        return token

    def token_valid(self, token: str) -> bool:
        return self.tokens.get(token, 0) > time.time()

    def expire_tokens(self) -> None:
        """Every issued token expires now (the client must authenticate again)."""
        for token in self.tokens:
            self.tokens[token] = 0

    # -- tests ---------------------------------------------------------------------------------
    def issue_by_id(self, issue_id: Any) -> dict[str, Any]:
        for issue in self.jira.issues.values():
            if issue["id"] == str(issue_id) or issue["key"] == str(issue_id):
                return issue
        raise XrayInvalid(f"Issue with id {issue_id} was not found.")

    def is_test(self, issue: dict[str, Any]) -> bool:
        return str((issue["fields"].get("issuetype") or {}).get("name", "")).lower() == "test"

    def test(self, issue_id: Any) -> dict[str, Any]:
        """Xray's record of a Test issue (created on first sight for Tests made through Jira's API)."""
        issue = self.issue_by_id(issue_id)
        if not self.is_test(issue):
            raise XrayInvalid(f"Issue {issue['key']} is not a Test.")
        record = self.tests.get(issue["id"])
        if record is None:
            record = self.tests[issue["id"]] = {"testType": dict(TEST_TYPES[0]), "steps": [], "folder": None,
                                                "lastModified": now_jira()}
        if self.jira.mode == "datacenter":
            value = (issue["fields"].get(TEST_TYPE_FIELD["id"]) or {}).get("value") or "Manual"
            record["testType"] = self.test_type({"name": value})
        return record

    def test_type(self, spec: dict[str, Any] | None) -> dict[str, Any]:
        spec = spec or {"name": "Manual"}
        for t in TEST_TYPES:
            if (spec.get("id") and t["id"] == str(spec["id"])) or (spec.get("name") and t["name"].lower() ==
                                                                   str(spec["name"]).lower()):
                return dict(t)
        raise XrayInvalid(f"Test Type '{spec.get('name') or spec.get('id')}' does not exist; there are: "
                          + ", ".join(t["name"] for t in TEST_TYPES) + ".")

    def touch(self, record: dict[str, Any], issue: dict[str, Any]) -> None:
        record["lastModified"] = issue["fields"]["updated"] = now_jira()

    def new_step(self, spec: dict[str, Any]) -> dict[str, Any]:
        if not str(spec.get("action") or "").strip():
            raise XrayInvalid("The step action is required.")
        return {"id": str(uuid.uuid4()), "action": spec.get("action") or "", "data": spec.get("data") or "",
                "result": spec.get("result") or "", "customFields": [], "callTestIssueId": None}

    def manual(self, issue_id: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        issue = self.issue_by_id(issue_id)
        record = self.test(issue["id"])
        if record["testType"]["kind"] != "Steps":
            raise XrayInvalid(f"Test {issue['key']} is a {record['testType']['name']} test; only tests of a "
                              f"step-based type have steps.")
        return issue, record

    def find_step(self, step_id: str) -> tuple[dict[str, Any], dict[str, Any], int]:
        for issue_id, record in self.tests.items():
            for i, step in enumerate(record["steps"]):
                if step["id"] == str(step_id):
                    return self.issue_by_id(issue_id), record, i
        raise XrayInvalid(f"Step with id {step_id} was not found.")

    # -- folders -------------------------------------------------------------------------------
    @staticmethod
    def clean_path(path: Any) -> str:
        text = "/" + "/".join(p.strip() for p in str(path or "").split("/") if p.strip())
        return text

    def folder_exists(self, project_id: str, path: str) -> bool:
        path = self.clean_path(path)
        return path == "/" or path in self.folders.get(str(project_id), set())

    def create_folder(self, project_id: str, path: str) -> str:
        path = self.clean_path(path)
        if path == "/":
            raise XrayInvalid("The root folder already exists.")
        parent = path.rsplit("/", 1)[0] or "/"
        if not self.folder_exists(project_id, parent):
            raise XrayInvalid(f"Parent folder {parent} does not exist.")
        if self.folder_exists(project_id, path):
            raise XrayInvalid(f"Folder {path} already exists.")
        self.folders.setdefault(str(project_id), set()).add(path)
        return path

    def project_id_of(self, issue: dict[str, Any]) -> str:
        return str((issue["fields"].get("project") or {}).get("id"))

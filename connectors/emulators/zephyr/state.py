"""The Zephyr Scale Cloud (API v2) emulator's data: a Zephyr project for each project of the shared
Jira emulator, the default priorities and test-case statuses, the project's custom fields, folders,
test cases (key `<PROJECT>-T<n>`), their step-by-step scripts and their links to Jira issues.

Links point at Jira issues by their numeric id, checked against the shared Jira state, as the real
Zephyr checks them against its Jira. Errors are raised as ZephyrInvalid (status + message).
"""

from __future__ import annotations

import copy
import itertools
from datetime import datetime, timezone
from typing import Any

from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest
from connectors.emulators.atlassian.state import SandboxState

PRIORITIES = ["High", "Normal", "Low"]
DEFAULT_PRIORITY = "Normal"
STATUSES = ["Draft", "Approved", "Deprecated"]
DEFAULT_STATUS = "Draft"
IDENTITY_FIELD = "casewright"  # the multi-line text custom field the sandbox has, as an admin would add it
CUSTOM_FIELD_TYPES = {"SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "NUMBER", "CHECKBOX", "SINGLE_CHOICE_SELECT_LIST"}


class ZephyrInvalid(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZephyrState:
    def __init__(self, jira: SandboxState, *, credentials: Credentials | None = None) -> None:
        self.jira = jira
        self.credentials = credentials or Credentials()
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self.projects: dict[str, dict[str, Any]] = {}
        self.priorities: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.custom_fields: dict[str, dict[str, str]] = {}   # project key -> {name: type}
        self.folders: dict[int, dict[str, Any]] = {}
        self.cases: dict[str, dict[str, Any]] = {}           # key -> test case
        self.steps: dict[str, list[dict[str, Any]]] = {}     # key -> [{"inline": {...}, "testCase": None}]
        self._numbers: dict[str, itertools.count] = {}
        for jp in jira.projects.values():
            self.add_project(jp["key"], int(jp["id"]))

    def add_project(self, key: str, jira_project_id: int) -> dict[str, Any]:
        pid = next(self._ids)
        project = {"id": pid, "jiraProjectId": jira_project_id, "key": key, "enabled": True}
        self.projects[key] = project
        for i, name in enumerate(PRIORITIES):
            self.priorities.append({"id": next(self._ids), "project": {"id": pid}, "name": name, "description": None,
                                    "index": i, "color": None, "default": name == DEFAULT_PRIORITY})
        for i, name in enumerate(STATUSES):
            self.statuses.append({"id": next(self._ids), "project": {"id": pid}, "name": name, "description": None,
                                  "index": i, "color": None, "archived": False, "default": name == DEFAULT_STATUS,
                                  "type": "TEST_CASE"})
        self.custom_fields[key] = {IDENTITY_FIELD: "MULTI_LINE_TEXT"}
        self._numbers[key] = itertools.count(1)
        return project

    # -- lookups --------------------------------------------------------------------------------
    def project(self, key_or_id: Any) -> dict[str, Any]:
        for p in self.projects.values():
            if str(key_or_id) in (p["key"], str(p["id"])):
                return p
        raise ZephyrInvalid(f"Project '{key_or_id}' was not found or is not enabled for Zephyr Scale.", 404
                            if key_or_id else 400)

    def _named(self, items: list[dict[str, Any]], project: dict[str, Any], name: Any, what: str) -> dict[str, Any]:
        for item in items:
            if item["project"]["id"] == project["id"] and str(item["name"]).lower() == str(name).lower():
                return item
        names = ", ".join(i["name"] for i in items if i["project"]["id"] == project["id"])
        raise ZephyrInvalid(f"{what} '{name}' does not exist in project {project['key']} (there are: {names}).")

    def _by_id(self, items: list[dict[str, Any]], ref: Any, what: str) -> dict[str, Any]:
        rid = (ref or {}).get("id") if isinstance(ref, dict) else ref
        for item in items:
            if str(item["id"]) == str(rid):
                return item
        raise ZephyrInvalid(f"{what} with id '{rid}' does not exist.")

    def default(self, items: list[dict[str, Any]], project: dict[str, Any]) -> dict[str, Any]:
        return next(i for i in items if i["project"]["id"] == project["id"] and i["default"])

    def case(self, key: str) -> dict[str, Any]:
        if key not in self.cases:
            raise ZephyrInvalid(f"Test case '{key}' was not found.", 404)
        return self.cases[key]

    # -- folders --------------------------------------------------------------------------------
    def add_folder(self, body: dict[str, Any]) -> dict[str, Any]:
        project = self.project(body.get("projectKey"))
        name = str(body.get("name") or "").strip()
        if not name or "/" in name:
            raise ZephyrInvalid("name: must be a non-empty folder name without '/'.")
        if body.get("folderType") not in ("TEST_CASE", "TEST_PLAN", "TEST_CYCLE"):
            raise ZephyrInvalid("folderType: must be one of TEST_CASE, TEST_PLAN, TEST_CYCLE.")
        parent = body.get("parentId")
        if parent is not None and int(parent) not in self.folders:
            raise ZephyrInvalid(f"parentId: folder {parent} does not exist.")
        for f in self.folders.values():
            if f["project"]["id"] == project["id"] and f["parentId"] == parent and f["name"] == name and \
                    f["folderType"] == body["folderType"]:
                raise ZephyrInvalid(f"A folder named '{name}' already exists there.")
        fid = next(self._ids)
        folder = {"id": fid, "parentId": parent, "name": name, "index": len(self.folders),
                  "folderType": body["folderType"], "project": {"id": project["id"]}}
        self.folders[fid] = folder
        return folder

    # -- test cases -----------------------------------------------------------------------------
    def _check_custom_fields(self, project: dict[str, Any], values: Any) -> dict[str, Any]:
        if values is None:
            return {}
        if not isinstance(values, dict):
            raise ZephyrInvalid("customFields: must be an object of custom field names to values.")
        known = self.custom_fields.get(project["key"], {})
        for name in values:
            if name not in known:
                raise ZephyrInvalid(f"customFields: the custom field '{name}' does not exist for test cases in "
                                    f"project {project['key']}.")
        return copy.deepcopy(values)

    def create_case(self, body: dict[str, Any]) -> dict[str, Any]:
        project = self.project(body.get("projectKey"))
        name = str(body.get("name") or "").strip()
        if not name:
            raise ZephyrInvalid("name: must not be blank.")
        if len(name) > 255:
            raise ZephyrInvalid("name: size must be between 1 and 255.")
        priority = self._named(self.priorities, project, body["priorityName"], "Priority") \
            if body.get("priorityName") else self.default(self.priorities, project)
        status = self._named(self.statuses, project, body["statusName"], "Status") \
            if body.get("statusName") else self.default(self.statuses, project)
        folder = None
        if body.get("folderId") is not None:
            folder = self.folders.get(int(body["folderId"]))
            if folder is None or folder["folderType"] != "TEST_CASE":
                raise ZephyrInvalid(f"folderId: test case folder {body['folderId']} does not exist.")
        labels = body.get("labels") or []
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x for x in labels):
            raise ZephyrInvalid("labels: must be a list of labels without spaces.")
        key = f"{project['key']}-T{next(self._numbers[project['key']])}"
        case = {
            "id": next(self._ids), "key": key, "name": name, "project": {"id": project["id"]}, "createdOn": _now(),
            "objective": body.get("objective"), "precondition": body.get("precondition"),
            "estimatedTime": body.get("estimatedTime"), "labels": list(labels), "component": None,
            "priority": {"id": priority["id"]}, "status": {"id": status["id"]},
            "folder": {"id": folder["id"]} if folder else None, "owner": None,
            "customFields": self._check_custom_fields(project, body.get("customFields")),
            "links": {"issues": [], "webLinks": []},
        }
        self.cases[key] = case
        self.steps[key] = []
        return case

    def update_case(self, key: str, body: dict[str, Any]) -> None:
        case = self.case(key)
        for required in ("id", "key", "name", "project", "priority", "status"):
            if body.get(required) in (None, ""):
                raise ZephyrInvalid(f"{required}: must not be null.")
        if str(body["key"]) != key or int(body["id"]) != case["id"]:
            raise ZephyrInvalid("id/key: do not match the test case being updated.")
        project = self.project(case["project"]["id"])
        if int((body["project"] or {}).get("id", -1)) != project["id"]:
            raise ZephyrInvalid("project: a test case cannot move to another project.")
        priority = self._by_id(self.priorities, body["priority"], "Priority")
        status = self._by_id(self.statuses, body["status"], "Status")
        folder = body.get("folder")
        if folder:
            f = self.folders.get(int(folder.get("id")))
            if f is None or f["folderType"] != "TEST_CASE":
                raise ZephyrInvalid(f"folder: test case folder {folder.get('id')} does not exist.")
        labels = body.get("labels") or []
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x for x in labels):
            raise ZephyrInvalid("labels: must be a list of labels without spaces.")
        case.update({
            "name": str(body["name"]), "objective": body.get("objective"), "precondition": body.get("precondition"),
            "estimatedTime": body.get("estimatedTime"), "labels": list(labels),
            "priority": {"id": priority["id"]}, "status": {"id": status["id"]},
            "folder": {"id": int(folder["id"])} if folder else None,
            "customFields": self._check_custom_fields(project, body.get("customFields")),
        })

    def set_steps(self, key: str, body: dict[str, Any]) -> None:
        self.case(key)
        mode = body.get("mode")
        if mode not in ("APPEND", "OVERWRITE"):
            raise ZephyrInvalid("mode: must be APPEND or OVERWRITE.")
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise ZephyrInvalid("items: must contain at least one step.")
        steps = []
        for i, item in enumerate(items):
            inline = (item or {}).get("inline") if isinstance(item, dict) else None
            if not isinstance(inline, dict) or not str(inline.get("description") or "").strip():
                raise ZephyrInvalid(f"items[{i}].inline.description: must not be blank.")
            unknown = set(inline) - {"description", "testData", "expectedResult", "customFields", "reflectRef"}
            if unknown:
                raise ZephyrInvalid(f"items[{i}].inline: unknown properties {', '.join(sorted(unknown))}.")
            steps.append({"inline": {"description": inline["description"], "testData": inline.get("testData"),
                                     "expectedResult": inline.get("expectedResult"),
                                     "customFields": inline.get("customFields") or {}, "reflectRef": None},
                          "testCase": None})
        self.steps[key] = steps if mode == "OVERWRITE" else self.steps[key] + steps

    def link_issue(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        case = self.case(key)
        issue_id = body.get("issueId")
        if not isinstance(issue_id, int) or isinstance(issue_id, bool):
            raise ZephyrInvalid("issueId: must be the numeric id of a Jira issue (not its key).")
        if not any(i["id"] == str(issue_id) for i in self.jira.issues.values()):
            raise ZephyrInvalid(f"issueId: Jira issue {issue_id} does not exist or is not visible.")
        for link in case["links"]["issues"]:
            if link["issueId"] == issue_id:
                raise ZephyrInvalid(f"The test case is already linked to issue {issue_id}.")
        link = {"id": next(self._ids), "issueId": issue_id, "type": "COVERAGE"}
        case["links"]["issues"].append(link)
        return link

"""The resolvers behind the Xray Cloud GraphQL schema (schema.py): one root object whose methods
answer the queries and mutations, reading and writing the Xray state and the shared Jira state
(a created Test is a Jira issue; its `jira(fields:)` is read from that issue)."""

from __future__ import annotations

import copy
from typing import Any

from connectors.emulators.atlassian.jql import JqlError, compile_jql
from connectors.emulators.atlassian.state import BadRequest
from connectors.emulators.xray.state import XrayInvalid, XrayState

MAX_LIMIT = 100


def _limit(limit: int, start: int | None) -> tuple[int, int]:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise XrayInvalid(f"The limit must be between 1 and {MAX_LIMIT}.")
    return int(limit), max(0, int(start or 0))


class XrayRoot:
    """graphql-core calls `root.<field>(info, **args)` for each root field of a query or mutation."""

    def __init__(self, state: XrayState) -> None:
        self.state = state

    # -- rendering ---------------------------------------------------------------------------
    def _jira(self, issue: dict[str, Any]):  # noqa: ANN202 - the resolver of `jira(fields:)`
        def resolve(info: Any, fields: list[str] | None = None) -> dict[str, Any]:
            src = issue["fields"]
            if not fields:
                return {"key": issue["key"], "id": issue["id"], **copy.deepcopy(src)}
            out: dict[str, Any] = {}
            for name in fields:
                if name in ("key", "id"):
                    out[name] = issue[name]
                elif name in src:
                    out[name] = copy.deepcopy(src[name])
            return out
        return resolve

    def _test(self, issue: dict[str, Any]) -> dict[str, Any]:
        record = self.state.test(issue["id"])
        folder = record["folder"]
        return {"issueId": issue["id"], "projectId": self.state.project_id_of(issue),
                "testType": dict(record["testType"]), "steps": copy.deepcopy(record["steps"]), "unstructured": None,
                "gherkin": None, "folder": {"name": folder.rsplit("/", 1)[-1], "path": folder} if folder else None,
                "jira": self._jira(issue), "lastModified": record["lastModified"]}

    def _page(self, items: list[dict[str, Any]], limit: int, start: int | None, render) -> dict[str, Any]:  # noqa: ANN001
        limit, start = _limit(limit, start)
        return {"total": len(items), "start": start, "limit": limit,
                "results": [render(i) for i in items[start:start + limit]], "warnings": []}

    def _select(self, issue_ids: list[str] | None, jql: str | None, project_id: str | None,
                type_name: str) -> list[dict[str, Any]]:
        issues = [i for i in self.state.jira.issues.values()
                  if str((i["fields"].get("issuetype") or {}).get("name", "")).lower() == type_name]
        if jql:
            try:
                query = compile_jql(jql, self.state.jira.fields, self.state.jira.projects)
            except JqlError as exc:
                raise XrayInvalid(f"Error in the JQL query: {exc}") from None
            issues = [i for i in issues if query.predicate(i)]
        if issue_ids is not None:
            wanted = {str(x) for x in issue_ids}
            issues = [i for i in issues if i["id"] in wanted]
        if project_id:
            issues = [i for i in issues if self.state.project_id_of(i) == str(project_id)]
        return sorted(issues, key=lambda i: int(i["id"]))

    def _test_set(self, issue: dict[str, Any]) -> dict[str, Any]:
        members = self.state.test_sets.setdefault(issue["id"], [])

        def tests(info: Any, limit: int, start: int | None = None) -> dict[str, Any]:
            issues = [self.state.issue_by_id(i) for i in members]
            return self._page(issues, limit, start, self._test)
        return {"issueId": issue["id"], "projectId": self.state.project_id_of(issue), "tests": tests,
                "jira": self._jira(issue), "lastModified": issue["fields"].get("updated")}

    def _folder(self, project_id: str, path: str) -> dict[str, Any]:
        count = sum(1 for issue_id, r in self.state.tests.items() if r["folder"] == path
                    and self.state.project_id_of(self.state.issue_by_id(issue_id)) == project_id)
        children = sorted(p for p in self.state.folders.get(project_id, set())
                          if p != path and (p.rsplit("/", 1)[0] or "/") == path)
        return {"name": path.rsplit("/", 1)[-1], "path": path, "testsCount": count,
                "folders": [self._folder(project_id, c) for c in children]}

    def _create_issue(self, jira: Any, issue_type: str) -> dict[str, Any]:
        if not isinstance(jira, dict) or not isinstance(jira.get("fields"), dict):
            raise XrayInvalid("jira: an object with the issue's fields ({fields: {summary, project, ...}}) is required.")
        body = copy.deepcopy(jira)
        body["fields"]["issuetype"] = {"name": issue_type}
        try:
            return self.state.jira.create_issue(body)
        except BadRequest as exc:
            raise XrayInvalid(f"Error creating the {issue_type} issue in Jira: {exc}") from None

    def _project_of_fields(self, jira: Any) -> str:
        spec = ((jira or {}).get("fields") or {}).get("project") or {}
        for p in self.state.jira.projects.values():
            if spec.get("key") == p["key"] or str(spec.get("id")) == p["id"]:
                return p["id"]
        raise XrayInvalid("jira.fields.project: specify a valid project id or key.")

    # -- queries -------------------------------------------------------------------------------
    def getTests(self, info: Any, limit: int, issueIds: list[str] | None = None, jql: str | None = None,  # noqa: N802
                 projectId: str | None = None, start: int | None = None, folder: dict | None = None,  # noqa: N803
                 **_: Any) -> dict[str, Any]:
        issues = self._select(issueIds, jql, projectId, "test")
        if folder:
            path = self.state.clean_path(folder.get("path"))
            deep = folder.get("includeDescendants")
            issues = [i for i in issues if (self.state.test(i["id"])["folder"] or "/") == path or
                      (deep and (self.state.test(i["id"])["folder"] or "/").startswith(path.rstrip("/") + "/"))]
        return self._page(issues, limit, start, self._test)

    def getTest(self, info: Any, issueId: str | None = None, jql: str | None = None) -> dict[str, Any] | None:  # noqa: N802, N803
        issues = self._select([issueId] if issueId else None, jql, None, "test")
        return self._test(issues[0]) if issues else None

    def getTestSets(self, info: Any, limit: int, issueIds: list[str] | None = None, jql: str | None = None,  # noqa: N802
                    projectId: str | None = None, start: int | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803
        return self._page(self._select(issueIds, jql, projectId, "test set"), limit, start, self._test_set)

    def getFolder(self, info: Any, path: str, projectId: str | None = None, **_: Any) -> dict[str, Any]:  # noqa: N802, N803
        if not projectId:
            raise XrayInvalid("projectId or testPlanId is required.")
        clean = self.state.clean_path(path)
        if not self.state.folder_exists(projectId, clean):
            raise XrayInvalid(f"Folder with path {clean} does not exist.")
        return self._folder(str(projectId), clean)

    # -- mutations: tests and steps ------------------------------------------------------------
    def createTest(self, info: Any, jira: Any, testType: dict | None = None, steps: list[dict] | None = None,  # noqa: N802, N803
                   folderPath: str | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803
        test_type = self.state.test_type(testType)
        if steps and test_type["kind"] != "Steps":
            raise XrayInvalid(f"Steps can only be given to a test of a step-based type, not {test_type['name']}.")
        new_steps = [self.state.new_step(s) for s in steps or []]
        folder = None
        if folderPath:
            project_id = self._project_of_fields(jira)
            folder = self.state.clean_path(folderPath)
            if not self.state.folder_exists(project_id, folder):
                raise XrayInvalid(f"Folder with path {folder} does not exist.")
        issue = self._create_issue(jira, "Test")
        record = self.state.test(issue["id"])
        record.update({"testType": test_type, "steps": new_steps, "folder": folder if folder != "/" else None})
        return {"test": self._test(issue), "warnings": []}

    def updateTestType(self, info: Any, issueId: str, testType: dict, **_: Any) -> dict[str, Any]:  # noqa: N802, N803
        issue = self.state.issue_by_id(issueId)
        record = self.state.test(issue["id"])
        record["testType"] = self.state.test_type(testType)
        self.state.touch(record, issue)
        return self._test(issue)

    def addTestStep(self, info: Any, issueId: str, step: dict, **_: Any) -> dict[str, Any]:  # noqa: N802, N803
        issue, record = self.state.manual(issueId)
        new = self.state.new_step(step)
        record["steps"].append(new)
        self.state.touch(record, issue)
        return dict(new)

    def updateTestStep(self, info: Any, stepId: str, step: dict) -> dict[str, Any]:  # noqa: N802, N803
        issue, record, index = self.state.find_step(stepId)
        current = record["steps"][index]
        for name in ("action", "data", "result"):
            if name in step and step[name] is not None:
                current[name] = step[name]
        if not str(current["action"]).strip():
            raise XrayInvalid("The step action is required.")
        self.state.touch(record, issue)
        return {"warnings": [], "addedAttachments": [], "removedAttachments": []}

    def removeTestStep(self, info: Any, stepId: str) -> str:  # noqa: N802, N803
        issue, record, index = self.state.find_step(stepId)
        record["steps"].pop(index)
        self.state.touch(record, issue)
        return "OK"

    def removeAllTestSteps(self, info: Any, issueId: str, **_: Any) -> str:  # noqa: N802, N803
        issue, record = self.state.manual(issueId)
        record["steps"] = []
        self.state.touch(record, issue)
        return "OK"

    # -- mutations: Test Repository folders and Test Sets ------------------------------------
    def updateTestFolder(self, info: Any, issueId: str, folderPath: str) -> str:  # noqa: N802, N803
        issue = self.state.issue_by_id(issueId)
        record = self.state.test(issue["id"])
        path = self.state.clean_path(folderPath)
        if not self.state.folder_exists(self.state.project_id_of(issue), path):
            raise XrayInvalid(f"Folder with path {path} does not exist.")
        record["folder"] = None if path == "/" else path
        self.state.touch(record, issue)
        return "OK"

    def createFolder(self, info: Any, path: str, projectId: str | None = None,  # noqa: N802, N803
                     testIssueIds: list[str] | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803
        if not projectId:
            raise XrayInvalid("projectId or testPlanId is required.")
        if str(projectId) not in {p["id"] for p in self.state.jira.projects.values()}:
            raise XrayInvalid(f"Project with id {projectId} was not found.")
        created = self.state.create_folder(str(projectId), path)
        for issue_id in testIssueIds or []:
            self.updateTestFolder(info, issue_id, created)
        return {"folder": self._folder(str(projectId), created), "warnings": []}

    def addTestsToFolder(self, info: Any, path: str, testIssueIds: list[str], projectId: str | None = None,  # noqa: N802, N803
                         **_: Any) -> dict[str, Any]:
        if not projectId:
            raise XrayInvalid("projectId or testPlanId is required.")
        clean = self.state.clean_path(path)
        for issue_id in testIssueIds:
            self.updateTestFolder(info, issue_id, clean)
        return {"folder": self._folder(str(projectId), clean), "warnings": []}

    def createTestSet(self, info: Any, jira: Any, testIssueIds: list[str] | None = None) -> dict[str, Any]:  # noqa: N802, N803
        members = [self.state.issue_by_id(i) for i in testIssueIds or []]
        for issue in members:
            self.state.test(issue["id"])
        test_set = self._create_issue(jira, "Test Set")
        self.state.test_sets[test_set["id"]] = [i["id"] for i in members]
        return {"testSet": self._test_set(test_set), "warnings": []}

    def addTestsToTestSet(self, info: Any, issueId: str, testIssueIds: list[str]) -> dict[str, Any]:  # noqa: N802, N803
        test_set = self.state.issue_by_id(issueId)
        if str((test_set["fields"].get("issuetype") or {}).get("name")).lower() != "test set":
            raise XrayInvalid(f"Issue {test_set['key']} is not a Test Set.")
        members = self.state.test_sets.setdefault(test_set["id"], [])
        added = []
        for raw in testIssueIds:
            issue = self.state.issue_by_id(raw)
            self.state.test(issue["id"])
            if issue["id"] not in members:
                members.append(issue["id"])
                added.append(issue["id"])
        return {"addedTests": added, "warning": None}

    def removeTestsFromTestSet(self, info: Any, issueId: str, testIssueIds: list[str]) -> str:  # noqa: N802, N803
        test_set = self.state.issue_by_id(issueId)
        gone = {str(self.state.issue_by_id(i)["id"]) for i in testIssueIds}
        self.state.test_sets[test_set["id"]] = [i for i in self.state.test_sets.get(test_set["id"], []) if i not in gone]
        return "OK"

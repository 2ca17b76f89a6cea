"""Reading an epic from live Jira (Cloud or Data Center) with the `jira` client.

`JiraSource.workspace_for_epic(KEY)` returns a connectors.workspace.Workspace holding exactly the
raw REST v2 shapes a workspace file holds, so agent/intake/ parses a live epic, an exported
file and the emulator the same way:

- the epic and its stories (`parent = KEY` on Cloud, `"Epic Link" = KEY` on Data Center, or as
  configured), every page of search results followed to the end;
- the Test issues (configurable type) already linked to the epic or its stories, except the ones
  casewright itself wrote back (label `casewright`);
- the /field list (so the acceptance-criteria field resolves by name), issue link types and the
  epic's project;
- remote links of the epic and stories, and the Confluence pages they (or descriptions) point at,
  plus pages matching an optional CQL.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from connectors.atlassian_http import JIRA, RetryPolicy, call, jira_client
from connectors.confluence_source import ConfluenceSource
from connectors.errors import CasewrightError
from connectors.jira_keys import check_issue_key, is_issue_key, key_path, project_path
from connectors.workspace import FORMAT, Workspace, issue_type, not_an_epic, parse_workspace

_PAGE_REF = re.compile(r"pageId=(\d+)|/pages/(\d+)")
DEPLOYMENTS = ("auto", "cloud", "datacenter")
EPIC_LINK_MODES = ("auto", "parent", "epic-link")


def _jql_quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraSource:
    def __init__(self, url: str, *, email: str | None = None, api_token: str | None = None,
                 pat: str | None = None, deployment: str = "auto", ac_field_name: str = "Acceptance Criteria",
                 test_issue_type: str = "Test", epic_link_mode: str = "auto", confluence: ConfluenceSource | None = None,
                 confluence_cql: str | None = None, page_size: int = 100, retry: RetryPolicy | None = None,
                 client: Any = None) -> None:
        if deployment not in DEPLOYMENTS:
            raise CasewrightError(f"JIRA_DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not '{deployment}'")
        if epic_link_mode not in EPIC_LINK_MODES:
            raise CasewrightError(f"CASEWRIGHT_EPIC_LINK must be one of {', '.join(EPIC_LINK_MODES)}, not '{epic_link_mode}'")
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.client = client or jira_client(url, email=email, api_token=api_token, pat=pat)
        self.deployment = deployment
        self.ac_field_name = ac_field_name
        self.test_issue_type = test_issue_type
        self.epic_link_mode = epic_link_mode
        self.confluence = confluence
        self.confluence_cql = confluence_cql
        self.page_size = page_size
        self.own_label = "casewright"
        self._server_info: dict[str, Any] | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, fn, what: str):  # noqa: ANN001, ANN202
        return call(fn, what=what, service=JIRA, policy=self.retry, url=self.url)

    def server_info(self) -> dict[str, Any]:
        if self._server_info is None:
            info = self._call(self.client.server_info, "read /serverInfo")
            self._server_info = info or {}
            if self.deployment == "auto":
                self.client.deploymentType = self._server_info.get("deploymentType")
            else:
                self.client.deploymentType = "Cloud" if self.deployment == "cloud" else "Server"
            try:
                self.client._version = tuple(self._server_info.get("versionNumbers") or (0, 0, 0))
            except TypeError:
                pass
        return self._server_info

    @property
    def is_cloud(self) -> bool:
        self.server_info()
        return self.client.deploymentType == "Cloud"

    def search(self, jql: str, *, fields: str = "*all", properties: str | None = None) -> list[dict[str, Any]]:
        """Every issue matching `jql` as raw JSON (Cloud: nextPageToken; Data Center: startAt/total)."""
        self.server_info()
        raw: list[dict[str, Any]] = []
        if self.is_cloud:
            token: str | None = None
            while True:
                page = self._call(lambda: self.client.enhanced_search_issues(
                    jql, nextPageToken=token, maxResults=self.page_size, fields=fields, properties=properties,
                    json_result=True), f"search issues ({jql})")
                raw.extend(page.get("issues") or [])
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    break
        else:
            start = 0
            while True:
                page = self._call(lambda: self.client.search_issues(
                    jql, startAt=start, maxResults=self.page_size, fields=fields, properties=properties,
                    json_result=True), f"search issues ({jql})")
                issues = page.get("issues") or []
                raw.extend(issues)
                start += len(issues)
                total = page.get("total")
                if not issues or (total is not None and start >= int(total)):
                    break
        return raw

    def issue(self, key: str, *, fields: str = "*all", properties: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": fields}
        if properties:
            params["properties"] = properties
        path = f"issue/{key_path(key)}"
        return self._call(lambda: self.client._get_json(path, params=params), f"read issue {key}")

    def changelog(self, key: str) -> list[dict[str, Any]]:
        """An issue's change histories, oldest first: `expand=changelog` (Cloud and Data Center),
        then, on Cloud when that was capped, the rest from the paged /changelog."""
        path = f"issue/{key_path(key)}"
        doc = self._call(lambda: self.client._get_json(path, params={"fields": "summary", "expand": "changelog"}),
                         f"read the change history of {key}")
        page = (doc or {}).get("changelog") or {}
        histories = list(page.get("histories") or [])
        total = int(page.get("total") or len(histories))
        if self.is_cloud and total > len(histories):
            histories, start = [], 0
            while True:
                more = self._call(lambda at=start: self.client._get_json(
                    f"{path}/changelog", params={"startAt": at, "maxResults": 100}), f"read the change history of {key}")
                values = (more or {}).get("values") or []
                histories += values
                start += len(values)
                if not values or more.get("isLast", True):
                    break
        return histories

    def fields(self) -> list[dict[str, Any]]:
        return self._call(self.client.fields, "read the field list (/field)")

    # -- the epic ----------------------------------------------------------------------------------
    def children_jql(self, epic_key: str, fields: list[dict[str, Any]]) -> str:
        mode = self.epic_link_mode
        has_epic_link = any(str(f.get("name", "")).lower() == "epic link" for f in fields)
        if mode == "auto":
            mode = "parent" if self.is_cloud or not has_epic_link else "epic-link"
        if mode == "epic-link":
            if not has_epic_link:
                raise CasewrightError("CASEWRIGHT_EPIC_LINK=epic-link but this Jira has no 'Epic Link' field; "
                                      "use parent (or auto)")
            return f'"Epic Link" = {_jql_quote(epic_key)} ORDER BY key ASC'
        return f"parent = {_jql_quote(epic_key)} ORDER BY key ASC"

    def workspace_for_epic(self, epic_key: str) -> Workspace:
        from connectors.atlassian_http import AtlassianError

        epic_key = check_issue_key(epic_key, "epic key")
        info = self.server_info()
        fields = self.fields()
        try:
            epic = self.issue(epic_key)
        except AtlassianError as exc:
            if exc.status == 404:
                raise CasewrightError(f"epic {epic_key} was not found in Jira at {self.url} "
                                      "(check the key and that the account can see it)") from None
            raise
        if issue_type(epic) != "epic":
            link = next((f.get("id") for f in fields if str(f.get("name", "")).lower() == "epic link"), None)
            raise CasewrightError(not_an_epic(epic, link))
        stories = [i for i in self.search(self.children_jql(epic_key, fields)) if i.get("key") != epic_key]
        issues: dict[str, dict[str, Any]] = {epic["key"]: epic}
        for s in stories:
            issues.setdefault(s["key"], s)
        tests, own = self._linked_tests_and_own([epic, *stories], known=set(issues))
        for t in tests:
            issues.setdefault(t["key"], t)
        tested = {s["key"] for s in stories if _links_to(s, {t["key"] for t in tests})}
        for s in stories:  # the old criterion text of a person's test comes from the story's history
            if s["key"] in tested:
                s["changelog"] = {"histories": self.changelog(s["key"])}
        if own:  # links to casewright's own Test issues are dropped too, so they are not read as tests at all
            for issue in issues.values():
                f = issue.get("fields") or {}
                if f.get("issuelinks"):
                    f["issuelinks"] = [lk for lk in f["issuelinks"] if
                                       ((lk.get("inwardIssue") or lk.get("outwardIssue") or {}).get("key")) not in own]
        remote: dict[str, list[dict[str, Any]]] = {}
        for key in [epic["key"], *(s["key"] for s in stories)]:
            links = self._call(lambda k=key: self.client._get_json(f"issue/{key_path(k)}/remotelink"),
                               f"read the remote links of {key}")
            if links:
                remote[key] = links
        link_types = self._call(lambda: self.client._get_json("issueLinkType"), "read issue link types")
        project_key = ((epic.get("fields") or {}).get("project") or {}).get("key") or epic_key.rsplit("-", 1)[0]
        project_segment = project_path(project_key)
        project = self._call(lambda: self.client._get_json(f"project/{project_segment}"),
                             f"read project {project_key}")
        pages = self._pages([epic, *stories], remote)
        doc = {
            "format": FORMAT,
            "jira": {"baseUrl": info.get("baseUrl") or self.url, "deploymentType": info.get("deploymentType", "")},
            "confluence": {"baseUrl": self.confluence.url} if self.confluence else {},
            "projects": [{"id": str(project.get("id", "")), "key": project.get("key", project_key),
                          "name": project.get("name", project_key)}],
            "fields": fields,
            "issueLinkTypes": (link_types or {}).get("issueLinkTypes") or [],
            "issues": list(issues.values()),
            "remoteLinks": remote,
            "pages": pages,
        }
        return parse_workspace(doc, origin=f"{self.url} ({epic_key})")

    def _linked_tests(self, issues: Iterable[dict[str, Any]], known: set[str]) -> list[dict[str, Any]]:
        return self._linked_tests_and_own(issues, known)[0]

    def _linked_tests_and_own(self, issues: Iterable[dict[str, Any]],
                              known: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
        """The test issues linked to `issues`, less casewright's own (whose keys come second)."""
        wanted = self.test_issue_type.lower()
        keys: list[str] = []
        for issue in issues:
            for link in (issue.get("fields") or {}).get("issuelinks") or []:
                other = link.get("inwardIssue") or link.get("outwardIssue") or {}
                itype = (((other.get("fields") or {}).get("issuetype")) or {}).get("name", "")
                if is_issue_key(other.get("key")) and itype.lower() == wanted and other["key"] not in known and other["key"] not in keys:
                    keys.append(other["key"])
        out: list[dict[str, Any]] = []
        for i in range(0, len(keys), 50):
            chunk = keys[i:i + 50]
            out.extend(self.search("key in (" + ", ".join(chunk) + ") ORDER BY key ASC"))
        # casewright's own write-back output is not the team's approved cases: reading it back as
        # such would feed generated cases into the next generation
        own = {t["key"] for t in out if self.own_label in ((t.get("fields") or {}).get("labels") or [])}
        return [t for t in out if t["key"] not in own], own

    def _pages(self, issues: list[dict[str, Any]], remote: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        if self.confluence is None:
            return []
        ids: list[str] = []
        for issue in issues:
            texts = [str((link.get("object") or {}).get("url", "")) + " " + str(link.get("globalId", ""))
                     for link in remote.get(issue["key"], [])]
            desc = (issue.get("fields") or {}).get("description")
            if isinstance(desc, str):
                texts.append(desc)
            for text in texts:
                for a, b in _PAGE_REF.findall(text):
                    pid = a or b
                    if pid not in ids:
                        ids.append(pid)
        pages = self.confluence.pages_by_id(ids)
        if self.confluence_cql:
            seen = {str(p["id"]) for p in pages}
            pages += [p for p in self.confluence.pages_by_cql(self.confluence_cql) if str(p["id"]) not in seen]
        return pages


def _links_to(issue: dict[str, Any], keys: set[str]) -> bool:
    """Whether one of the issue's links points to one of `keys`."""
    return any(((lk.get("inwardIssue") or lk.get("outwardIssue") or {}).get("key")) in keys
               for lk in (issue.get("fields") or {}).get("issuelinks") or [])

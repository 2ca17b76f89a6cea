"""The emulator's data: issues, comments, properties, links, the workflow and pages, seeded from a
workspace.

Everything is held in memory behind one lock; the HTTP layer (app.py, jira_routes.py,
confluence_routes.py) turns requests into calls on SandboxState and its results into
Jira/Confluence response shapes. The credentials, faults and request log a test controls
are in controls.py.
"""

from __future__ import annotations

import copy
import itertools
import threading
from datetime import datetime, timezone
from typing import Any

from connectors.emulators.atlassian.changelog import EXPAND_LIMIT, record_change, seed_history
from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest
from connectors.emulators.atlassian.workflow import Workflow
from connectors.workspace import Workspace

DEFAULT_LINK_TYPES = [
    {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    {"id": "10001", "name": "Cloners", "inward": "is cloned by", "outward": "clones"},
    {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
    {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"},
    {"id": "10004", "name": "Tests", "inward": "is tested by", "outward": "tests"},
]

STANDARD_ISSUE_TYPES = [
    ("10000", "Epic", False), ("10001", "Story", False), ("10002", "Task", False),
    ("10003", "Sub-task", True), ("10004", "Bug", False), ("10005", "Test", False),
]

FIELD_KEYS = {"id", "key", "name", "custom", "orderable", "navigable", "searchable", "clauseNames", "scope", "schema"}
FIELD_SCHEMA_KEYS = {"type", "items", "system", "custom", "customId", "configuration"}

SYSTEM_FIELDS = [
    ("summary", "Summary", "string"), ("description", "Description", "string"),
    ("issuetype", "Issue Type", "issuetype"), ("project", "Project", "project"),
    ("labels", "Labels", "array"), ("status", "Status", "status"), ("parent", "Parent", "issuelink"),
    ("issuelinks", "Linked Issues", "array"), ("updated", "Updated", "datetime"),
    ("created", "Created", "datetime"), ("priority", "Priority", "priority"),
]


def now_jira() -> str:
    """Jira's timestamp format: 2024-05-01T10:00:00.000+0000."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


class NotFound(LookupError):
    pass


class BadRequest(ValueError):
    def __init__(self, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__("; ".join((messages or []) + [f"{k}: {v}" for k, v in (errors or {}).items()]))
        self.messages = messages or []
        self.errors = errors or {}


class SandboxState:
    def __init__(self, workspace: Workspace, *, mode: str = "cloud", max_results: int = 100,
                 credentials: Credentials | None = None) -> None:
        if mode not in ("cloud", "datacenter"):
            raise ValueError("mode must be 'cloud' or 'datacenter'")
        self.mode = mode
        self.max_results = max_results
        self.credentials = credentials or Credentials()
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        ws = workspace
        # /field answers in the documented FieldDetails shape (extra keys some exports carry are dropped)
        self.fields: list[dict[str, Any]] = [
            {k: v for k, v in f.items() if k in FIELD_KEYS} for f in copy.deepcopy(ws.fields) or []]
        for f in self.fields:
            if isinstance(f.get("schema"), dict):
                f["schema"] = {k: v for k, v in f["schema"].items() if k in FIELD_SCHEMA_KEYS}
        have = {f.get("id") for f in self.fields}
        for fid, name, typ in SYSTEM_FIELDS:
            if fid not in have:
                self.fields.append({"id": fid, "key": fid, "name": name, "custom": False, "orderable": True,
                                    "navigable": True, "searchable": True, "clauseNames": [fid],
                                    "schema": {"type": typ, "system": fid}})
        self.link_types: list[dict[str, Any]] = copy.deepcopy(ws.issue_link_types) or copy.deepcopy(DEFAULT_LINK_TYPES)
        self.issues: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, Any]] = {}   # issue id -> {key: value}
        self.comments: dict[str, list[dict[str, Any]]] = {}  # issue id -> comments
        self.remote_links: dict[str, list[dict[str, Any]]] = {}  # issue id -> links
        self.changelog: dict[str, list[dict[str, Any]]] = {}  # issue id -> histories, oldest first
        self.changelog_expand_limit = EXPAND_LIMIT  # expand=changelog returns at most this many
        self.links: dict[str, dict[str, Any]] = {}  # link id -> {type, inward key, outward key}
        self.extra_issue_types: list[tuple[str, str, bool]] = []  # (id, name, subtask) an app adds (Xray's)
        self.workflow = Workflow()  # statuses and transitions (workflow.py)
        self._ids = itertools.count(20000)
        self.projects: dict[str, dict[str, Any]] = {}
        for p in ws.projects:
            self.projects[p["key"]] = {"id": str(p.get("id") or next(self._ids)), "key": p["key"],
                                       "name": p.get("name") or p["key"]}
        for raw in ws.issues:
            issue = copy.deepcopy(raw)
            issue["id"] = str(issue.get("id") or next(self._ids))
            f = issue.setdefault("fields", {})
            proj_key = issue["key"].rsplit("-", 1)[0]
            proj = self.projects.setdefault(proj_key, {"id": str(next(self._ids)), "key": proj_key, "name": proj_key})
            f.setdefault("project", {"id": proj["id"], "key": proj_key, "name": proj["name"]})
            f.setdefault("labels", [])
            f.setdefault("status", {"name": "To Do"})
            f.setdefault("created", f.get("updated") or now_jira())
            f.setdefault("updated", f["created"])
            for prop_key, value in (raw.get("properties") or {}).items():
                self.properties.setdefault(issue["id"], {})[prop_key] = value
            issue.pop("properties", None)
            seed_history(self, raw, issue)
            for c in ((f.get("comment") or {}).get("comments") or []):
                self.comments.setdefault(issue["id"], []).append(copy.deepcopy(c))
            f.pop("comment", None)
            self.issues[issue["key"]] = issue
            status = f["status"] if isinstance(f["status"], dict) else {"name": str(f["status"])}
            self.workflow.add_status(str(status.get("name") or "To Do"),
                                     (status.get("statusCategory") or {}).get("key") or "indeterminate")
        # seeded links: give them ids and make both sides consistent
        for issue in list(self.issues.values()):
            for link in issue["fields"].get("issuelinks") or []:
                other = link.get("inwardIssue") or link.get("outwardIssue") or {}
                if other.get("key") not in self.issues:
                    continue
                type_name = (link.get("type") or {}).get("name", "Relates")
                if link.get("outwardIssue"):
                    self._record_link(type_name, issue["key"], other["key"], link.get("id"))
                else:
                    self._record_link(type_name, other["key"], issue["key"], link.get("id"))
        for key, links in (ws.remote_links or {}).items():
            issue = self.issues.get(key)
            if issue is not None:
                for link in links:
                    link = copy.deepcopy(link)
                    link["id"] = int(link.get("id") or next(self._ids))
                    self.remote_links.setdefault(issue["id"], []).append(link)
        self.pages: dict[str, dict[str, Any]] = {}
        for raw in ws.pages:
            page = copy.deepcopy(raw)
            page["id"] = str(page["id"])
            page.setdefault("type", "page")
            page.setdefault("status", "current")
            page.setdefault("version", {"number": 1})
            space = page.get("space") or {}
            if isinstance(space, str):
                space = {"key": space}
            page["space"] = space
            labels = (page.get("metadata") or {}).get("labels")
            if isinstance(page.get("labels"), list) and not labels:
                page.setdefault("metadata", {})["labels"] = {
                    "results": [{"prefix": "global", "name": n} for n in page.pop("labels")]}
            anc = page.get("ancestors") or []
            page["ancestors"] = [{"id": str(a["id"] if isinstance(a, dict) else a)} for a in anc]
            self.pages[page["id"]] = page
        self.user = {"email": self.credentials.email or "sandbox@example.com",
                     "accountId": "5b10a2844c20165700ede21g", "name": "sandbox", "displayName": "Sandbox User"}

    # -- helpers -----------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(next(self._ids))

    def get_issue(self, key_or_id: str) -> dict[str, Any]:
        issue = self.issues.get(key_or_id) or self.issues.get(key_or_id.upper())
        if issue is None:
            for candidate in self.issues.values():
                if candidate["id"] == key_or_id:
                    return candidate
            raise NotFound("Issue does not exist or you do not have permission to see it.")
        return issue

    def link_type(self, spec: dict[str, Any]) -> dict[str, Any]:
        for lt in self.link_types:
            if (spec.get("id") and str(lt["id"]) == str(spec["id"])) or \
                    (spec.get("name") and lt["name"].lower() == str(spec["name"]).lower()):
                return lt
        raise NotFound(f"No issue link type with name '{spec.get('name') or spec.get('id')}' found.")

    def _brief(self, issue: dict[str, Any]) -> dict[str, Any]:
        f = issue["fields"]
        return {"id": issue["id"], "key": issue["key"],
                "fields": {"summary": f.get("summary", ""), "status": f.get("status"),
                           "issuetype": f.get("issuetype")}}

    def _record_link(self, type_name: str, inward_key: str, outward_key: str, link_id: Any = None) -> str:
        """Record 'inward_key <outward verb> outward_key' (Jira's POST /issueLink semantics)."""
        lt = self.link_type({"name": type_name})
        for lid, link in self.links.items():
            if link["type"]["id"] == lt["id"] and link["inward"] == inward_key and link["outward"] == outward_key:
                return lid
        lid = str(link_id or self.new_id())
        self.links[lid] = {"id": lid, "type": lt, "inward": inward_key, "outward": outward_key}
        self._rebuild_issuelinks(inward_key)
        self._rebuild_issuelinks(outward_key)
        return lid

    def _rebuild_issuelinks(self, key: str) -> None:
        issue = self.issues[key]
        out = []
        for link in self.links.values():
            lt = {k: link["type"][k] for k in ("id", "name", "inward", "outward")}
            if link["inward"] == key:  # this issue <outward verb> the other
                out.append({"id": link["id"], "type": lt, "outwardIssue": self._brief(self.issues[link["outward"]])})
            elif link["outward"] == key:
                out.append({"id": link["id"], "type": lt, "inwardIssue": self._brief(self.issues[link["inward"]])})
        issue["fields"]["issuelinks"] = out

    # -- operations ---------------------------------------------------------------------------
    def issue_types(self, project_key: str | None = None) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for tid, name, sub in STANDARD_ISSUE_TYPES + self.extra_issue_types:
            seen[name.lower()] = {"id": tid, "name": name, "subtask": sub, "description": ""}
        for issue in self.issues.values():
            it = issue["fields"].get("issuetype") or {}
            name = it.get("name")
            if name and name.lower() not in seen:
                seen[name.lower()] = {"id": str(it.get("id") or self.new_id()), "name": name,
                                      "subtask": bool(it.get("subtask")), "description": ""}
        return list(seen.values())

    def create_issue(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = copy.deepcopy(body.get("fields") or {})
        errors: dict[str, str] = {}
        proj_spec = fields.get("project") or {}
        project = None
        for p in self.projects.values():
            if (proj_spec.get("key") and p["key"] == proj_spec["key"]) or (proj_spec.get("id") and p["id"] == str(proj_spec["id"])):
                project = p
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        it_spec = fields.get("issuetype") or {}
        itype = None
        for t in self.issue_types():
            if (it_spec.get("id") and t["id"] == str(it_spec["id"])) or \
                    (it_spec.get("name") and t["name"].lower() == str(it_spec["name"]).lower()):
                itype = t
        if itype is None:
            errors["issuetype"] = "Specify a valid issue type"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in fields["summary"]:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        parent = None
        if itype is not None and itype["subtask"]:
            pspec = fields.get("parent") or {}
            try:
                parent = self.get_issue(str(pspec.get("key") or pspec.get("id") or ""))
            except NotFound:
                errors["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
        for name in fields:
            if name.startswith("customfield_") and not any(f["id"] == name for f in self.fields):
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise BadRequest([], errors)
        assert project is not None and itype is not None
        numbers = [int(k.rsplit("-", 1)[1]) for k in self.issues if k.rsplit("-", 1)[0] == project["key"]]
        key = f"{project['key']}-{max(numbers, default=0) + 1}"
        stamp = now_jira()
        fields["project"] = {"id": project["id"], "key": project["key"], "name": project["name"]}
        fields["issuetype"] = {"id": itype["id"], "name": itype["name"], "subtask": itype["subtask"]}
        if parent is not None:
            fields["parent"] = self._brief(parent)
        elif isinstance(fields.get("parent"), dict):
            try:
                fields["parent"] = self._brief(self.get_issue(str(fields["parent"].get("key") or fields["parent"].get("id"))))
            except NotFound:
                raise BadRequest([], {"parent": "Could not find issue by id or key."}) from None
        fields.setdefault("labels", [])
        fields.setdefault("description", None)
        fields["status"] = {"name": "To Do"}
        fields["created"] = stamp
        fields["updated"] = stamp
        fields["issuelinks"] = []
        issue = {"id": self.new_id(), "key": key, "fields": fields}
        self.issues[key] = issue
        self._apply_update_ops(issue, body.get("update") or {})
        for prop in body.get("properties") or []:  # IssueUpdateDetails.properties: set with the create
            if isinstance(prop, dict) and prop.get("key"):
                self.properties.setdefault(issue["id"], {})[str(prop["key"])] = copy.deepcopy(prop.get("value"))
        return issue

    def _apply_update_ops(self, issue: dict[str, Any], update: dict[str, Any]) -> None:
        for name, ops in update.items():
            for op in ops or []:
                for verb, value in op.items():
                    if name == "labels":
                        labels = issue["fields"].setdefault("labels", [])
                        if verb == "add" and value not in labels:
                            labels.append(value)
                        elif verb == "remove" and value in labels:
                            labels.remove(value)
                        elif verb == "set":
                            issue["fields"]["labels"] = list(value)
                    elif name == "comment" and verb == "add":
                        self.add_comment(issue["key"], value)
                    elif verb == "set":
                        issue["fields"][name] = value
                    else:
                        raise BadRequest([], {name: f"Operation '{verb}' is not supported for '{name}' by this emulator."})

    def update_issue(self, key: str, body: dict[str, Any]) -> None:
        issue = self.get_issue(key)
        fields = body.get("fields") or {}
        errors = {}
        for name, value in fields.items():
            if name in ("project", "issuetype", "created", "updated", "status", "issuelinks"):
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            elif name == "summary" and not str(value or "").strip():
                errors[name] = "You must specify a summary of the issue."
            elif name.startswith("customfield_") and not any(f["id"] == name for f in self.fields):
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise BadRequest([], errors)
        before = copy.deepcopy(issue["fields"])
        for name, value in fields.items():
            issue["fields"][name] = copy.deepcopy(value)
        self._apply_update_ops(issue, body.get("update") or {})
        issue["fields"]["updated"] = now_jira()
        record_change(self, issue, before, issue["fields"]["updated"])

    def add_comment(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        issue = self.get_issue(key)
        text = body.get("body")
        if text is None or (isinstance(text, str) and not text.strip()):
            raise BadRequest([], {"comment": "Comment body can not be empty!"})
        stamp = now_jira()
        author = self.author()
        comment = {"id": self.new_id(), "author": author, "body": text, "updateAuthor": author,
                   "created": stamp, "updated": stamp}
        if body.get("visibility"):
            comment["visibility"] = body["visibility"]
        self.comments.setdefault(issue["id"], []).append(comment)
        issue["fields"]["updated"] = stamp
        return comment

    def get_comment(self, key: str, comment_id: str) -> dict[str, Any]:
        issue = self.get_issue(key)
        for c in self.comments.get(issue["id"], []):
            if str(c["id"]) == str(comment_id):
                return c
        raise NotFound("Can not find a comment for the id: " + str(comment_id) + ".")

    def update_comment(self, key: str, comment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        comment = self.get_comment(key, comment_id)
        if body.get("body") is None:
            raise BadRequest([], {"comment": "Comment body can not be empty!"})
        comment["body"] = body["body"]
        comment["updated"] = now_jira()
        comment["updateAuthor"] = self.author()
        self.get_issue(key)["fields"]["updated"] = comment["updated"]
        return comment

    def author(self) -> dict[str, Any]:
        if self.mode == "cloud":
            return {"accountId": self.user["accountId"], "displayName": self.user["displayName"], "active": True}
        return {"name": self.user["name"], "key": self.user["name"], "displayName": self.user["displayName"],
                "active": True}

    def create_link(self, body: dict[str, Any]) -> str:
        spec = body.get("type") or {}
        try:
            lt = self.link_type(spec)
        except NotFound as exc:
            raise BadRequest([str(exc)]) from None
        inward = self.get_issue(str((body.get("inwardIssue") or {}).get("key") or (body.get("inwardIssue") or {}).get("id") or ""))
        outward = self.get_issue(str((body.get("outwardIssue") or {}).get("key") or (body.get("outwardIssue") or {}).get("id") or ""))
        return self._record_link(lt["name"], inward["key"], outward["key"])

    def delete_link(self, link_id: str) -> None:
        link = self.links.pop(str(link_id), None)
        if link is None:
            raise NotFound("No issue link with id '%s' exists." % link_id)
        self._rebuild_issuelinks(link["inward"])
        self._rebuild_issuelinks(link["outward"])

    def page_children(self, page_id: str) -> list[dict[str, Any]]:
        if page_id not in self.pages:
            raise NotFound(f"No content found with id: ContentId{{id={page_id}}}")
        return [p for p in self.pages.values() if p["ancestors"] and p["ancestors"][-1]["id"] == page_id]

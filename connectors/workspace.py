"""The workspace file: one JSON document in the shapes Jira and Confluence REST APIs return.

The same raw shapes come from a workspace file, from `casewright export` of a live Jira, and
from the Jira/Confluence emulator, so everything downstream parses one format:

    {
      "format": "casewright-workspace/1",
      "jira": {"baseUrl": "https://example.atlassian.net", "deploymentType": "Cloud"},
      "confluence": {"baseUrl": "https://example.atlassian.net/wiki"},
      "projects": [{"id": "10000", "key": "ER", "name": "..."}],
      "fields": [ ... /rest/api/2/field objects ... ],
      "issueLinkTypes": [ ... /rest/api/2/issueLinkType objects ... ],
      "issues": [ ... /rest/api/2/issue objects {id, key, fields: {...}} ... ],
      "remoteLinks": {"ER-1": [ ... /rest/api/2/issue/{key}/remotelink objects ... ]},
      "pages": [ ... Confluence content objects {id, title, space, body.storage, metadata.labels} ... ]
    }

This module only loads and indexes the raw data; turning it into stories and criteria is the
agent's job (agent/intake/).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.errors import CasewrightError
from connectors.jira_keys import is_issue_key

FORMAT = "casewright-workspace/1"
_PAGE_REF = re.compile(r"pageId=(\d+)|/pages/(\d+)")
WORKSPACE_KEYS = {"format", "issues", "pages", "fields", "projects"}
"""Top-level keys of which a workspace file has at least one."""
SAMPLE_PATH = Path(__file__).parent / "sample_project" / "workspace.json"


def issue_type(issue: dict[str, Any]) -> str:
    """The issue's type name, lower-case ("story", "epic", "test", ...)."""
    return str(((issue.get("fields") or {}).get("issuetype") or {}).get("name", "")).lower()


def epic_of_issue(issue: dict[str, Any], epic_link_field: str | None = None, *,
                  any_key_field: bool = False) -> str | None:
    """The epic an issue belongs to: itself for an epic, `fields.parent` when the parent is an
    epic (Cloud; a parent of unknown type counts), else the Epic Link field (Data Center) named by
    `epic_link_field`, or with `any_key_field` any custom field holding an issue key (webhook
    payloads name custom fields by id only)."""
    fields = issue.get("fields") or {}
    if issue_type(issue) == "epic":
        return issue.get("key")
    parent = fields.get("parent") or {}
    if parent.get("key"):
        ptype = str(((parent.get("fields") or {}).get("issuetype") or {}).get("name", "epic")).lower()
        return parent["key"] if ptype == "epic" else None
    if epic_link_field and isinstance(fields.get(epic_link_field), str):
        return fields[epic_link_field]
    if any_key_field:
        for name, value in fields.items():
            if name.startswith("customfield_") and is_issue_key(value):
                return value
    return None


def not_an_epic(issue: dict[str, Any], epic_link_field: str | None = None) -> str:
    """What to tell someone who gave this issue (a story, a bug, ...) where an epic is expected."""
    key = issue.get("key")
    kind = str(((issue.get("fields") or {}).get("issuetype") or {}).get("name") or "issue")
    epic = epic_of_issue(issue, epic_link_field)
    if epic:
        return (f"{key} is a {kind}, not an epic; it belongs to epic {epic}: generate for {epic} "
                f"(add --stories {key} for this {kind.lower()} only)")
    return f"{key} is a {kind}, not an epic, and belongs to no epic; give the key of an epic"


class WorkspaceError(CasewrightError, ValueError):
    """A workspace file that cannot be used; the message says what is wrong and what to do."""


@dataclass
class Workspace:
    issues: list[dict[str, Any]] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    issue_link_types: list[dict[str, Any]] = field(default_factory=list)
    remote_links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jira: dict[str, Any] = field(default_factory=dict)
    confluence: dict[str, Any] = field(default_factory=dict)
    origin: str = ""

    def __post_init__(self) -> None:
        self._by_key = {i["key"]: i for i in self.issues}
        self._pages_by_id = {str(p["id"]): p for p in self.pages}
        # issue links in both directions, whichever side recorded them
        self._links: dict[str, dict[str, dict[str, Any]]] = {}
        for issue in self.issues:
            for link in (issue.get("fields") or {}).get("issuelinks") or []:
                other = link.get("inwardIssue") or link.get("outwardIssue") or {}
                if other.get("key"):
                    self._links.setdefault(issue["key"], {})[other["key"]] = other
                    self._links.setdefault(other["key"], {})[issue["key"]] = issue

    # -- lookups ---------------------------------------------------------------------------
    def issue(self, key: str) -> dict[str, Any] | None:
        return self._by_key.get(key)

    def page(self, page_id: str) -> dict[str, Any] | None:
        return self._pages_by_id.get(str(page_id))

    def field_id(self, name: str) -> str | None:
        """Resolve a field by its display name (case-insensitive), e.g. 'Acceptance Criteria'."""
        wanted = name.strip().lower()
        for f in self.fields:
            if str(f.get("name", "")).strip().lower() == wanted:
                return f.get("id")
        return None

    def epic_of(self, issue: dict[str, Any]) -> str | None:
        """The epic `issue` belongs to (epic_of_issue with this workspace's Epic Link field)."""
        return epic_of_issue(issue, self.field_id("Epic Link"))

    def children(self, epic_key: str, epic_link_field: str | None = None) -> list[dict[str, Any]]:
        """Issues whose parent is the epic (Cloud), or whose Epic Link field names it (Data Center)."""
        link_id = self.field_id(epic_link_field) if epic_link_field else self.field_id("Epic Link")
        out = []
        for issue in self.issues:
            f = issue.get("fields") or {}
            parent = (f.get("parent") or {}).get("key")
            if parent == epic_key or (link_id and f.get(link_id) == epic_key):
                out.append(issue)
        return out

    def linked_issues(self, key: str, issue_type: str | None = None) -> list[dict[str, Any]]:
        """Issues linked to `key` through fields.issuelinks (either direction), optionally by type name."""
        result = [self.issue(k) or stub for k, stub in self._links.get(key, {}).items()]
        if issue_type:
            wanted = issue_type.lower()
            result = [
                i for i in result
                if str(((i.get("fields") or {}).get("issuetype") or {}).get("name", "")).lower() == wanted
            ]
        return result

    def pages_linked_from(self, key: str) -> list[dict[str, Any]]:
        """Confluence pages an issue links to: remote links and pageId/URL mentions in its description."""
        texts = [str((link.get("object") or {}).get("url", "")) for link in self.remote_links.get(key, [])]
        desc = ((self.issue(key) or {}).get("fields") or {}).get("description")
        if isinstance(desc, str):
            texts.append(desc)
        ids = [a or b for text in texts for a, b in _PAGE_REF.findall(text)]
        seen, pages = set(), []
        for pid in ids:
            page = self.page(pid)
            if page is not None and pid not in seen:
                seen.add(pid)
                pages.append(page)
        return pages

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "jira": self.jira,
            "confluence": self.confluence,
            "projects": self.projects,
            "fields": self.fields,
            "issueLinkTypes": self.issue_link_types,
            "issues": self.issues,
            "remoteLinks": self.remote_links,
            "pages": self.pages,
        }


def _require_list(doc: dict[str, Any], name: str, origin: str) -> list[dict[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise WorkspaceError(f"{origin}: '{name}' must be a list of objects; fix the file or re-export it")
    return value


def parse_workspace(doc: Any, origin: str = "<workspace>") -> Workspace:
    """Validate the raw document's shape and index it. Raises WorkspaceError with a clear message."""
    if not isinstance(doc, dict):
        raise WorkspaceError(f"{origin}: a workspace file is a JSON object with 'issues', 'fields' and 'pages'")
    if doc.get("format", FORMAT) != FORMAT or not WORKSPACE_KEYS & set(doc):
        found = ", ".join(repr(k)[:40] for k in list(doc)[:6]) or "none"
        raise WorkspaceError(f"{origin} is valid JSON but not a casewright workspace (format {FORMAT}, with "
                             f"'issues' and 'pages'; its top-level keys: {found}); pass a workspace file "
                             "(`casewright export` writes one)")
    issues = _require_list(doc, "issues", origin)
    for n, issue in enumerate(issues):
        if not issue.get("key") or not isinstance(issue.get("fields"), dict):
            raise WorkspaceError(
                f"{origin}: issues[{n}] needs a 'key' and a 'fields' object (Jira REST v2 issue shape)"
            )
        if not (issue["fields"].get("issuetype") or {}).get("name"):
            raise WorkspaceError(f"{origin}: issue {issue['key']} has no fields.issuetype.name")
    keys = [i["key"] for i in issues]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise WorkspaceError(f"{origin}: issue keys appear more than once: {', '.join(dupes)}")
    pages = _require_list(doc, "pages", origin)
    for n, page in enumerate(pages):
        if not page.get("id") or "title" not in page:
            raise WorkspaceError(f"{origin}: pages[{n}] needs an 'id' and a 'title' (Confluence content shape)")
    remote = doc.get("remoteLinks", {}) or {}
    if not isinstance(remote, dict):
        raise WorkspaceError(f"{origin}: 'remoteLinks' must map issue keys to lists of remote links")
    return Workspace(
        issues=issues,
        fields=_require_list(doc, "fields", origin),
        pages=pages,
        projects=_require_list(doc, "projects", origin),
        issue_link_types=_require_list(doc, "issueLinkTypes", origin),
        remote_links=remote,
        jira=doc.get("jira") or {},
        confluence=doc.get("confluence") or {},
        origin=origin,
    )


def load_workspace(path: str | Path) -> Workspace:
    """Read a workspace file. Missing or malformed files raise WorkspaceError naming the problem."""
    p = Path(path)
    if not p.exists():
        raise WorkspaceError(f"workspace file not found: {p} (pass --source PATH to an existing file)")
    if p.is_dir():
        raise WorkspaceError(f"{p} is a directory; --source takes a workspace JSON file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise WorkspaceError(f"{p} is not UTF-8 text; a workspace file is JSON") from None
    except json.JSONDecodeError as exc:
        raise WorkspaceError(
            f"{p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_workspace(doc, origin=str(p))


def save_workspace(ws: Workspace, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(ws.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(p)
    return p

"""Where an epic's raw data comes from: the bundled sample, a workspace file, or live Jira.

Every source yields a connectors.workspace.Workspace, so intake parses them all the same way."""

from __future__ import annotations

from pathlib import Path

from connectors.errors import CasewrightError
from connectors.jira_access import JiraAccess
from connectors.workspace import SAMPLE_PATH, Workspace, load_workspace

_cache: dict[tuple[str, float], Workspace] = {}


def workspace_path(source: str) -> Path:
    return SAMPLE_PATH if source in {"sample", ""} else Path(source)


def open_workspace(source: str, epic_key: str, jira: JiraAccess | None = None) -> Workspace:
    """The raw data for `epic_key` from `source` ('sample', a file path or 'jira', read through
    `jira`). A file is parsed once per process while it does not change."""
    if source == "jira":
        if jira is None:
            raise CasewrightError("the source is live Jira but JIRA_URL is not set; set it (and JIRA_EMAIL + "
                                  "JIRA_API_TOKEN or JIRA_PAT), or pass --source FILE")
        return jira.source().workspace_for_epic(epic_key)
    path = workspace_path(source)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    key = (str(path.resolve()), mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_workspace(path)
    return _cache[key]

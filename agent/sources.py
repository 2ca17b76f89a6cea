"""Where an epic's raw data comes from: the bundled sample, a workspace file, or live Jira.

Every source yields a connectors.workspace.Workspace, so intake parses them all the same way."""

from __future__ import annotations

from pathlib import Path

from connectors.errors import CasewrightError
from connectors.workspace import SAMPLE_PATH, Workspace, load_workspace

_cache: dict[tuple[str, float], Workspace] = {}


def workspace_path(source: str) -> Path:
    return SAMPLE_PATH if source in {"sample", ""} else Path(source)


def open_workspace(source: str, epic_key: str) -> Workspace:
    """The raw data for `epic_key` from `source` ('sample', a file path or 'jira')."""
    if source == "jira":
        try:
            from agent.jira_access import jira_workspace_for_epic  # live Jira (issue: live connectors)
        except ImportError:
            raise CasewrightError("live Jira is not available in this build; pass --source FILE") from None
        return jira_workspace_for_epic(epic_key)
    path = workspace_path(source)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    key = (str(path.resolve()), mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_workspace(path)
    return _cache[key]

"""The review pages' edit form, read back into the changes agent/edits.py checks.

Fields: ``title``, ``priority``, ``step-N-action`` / ``step-N-data`` / ``step-N-expected`` and
``data-N-name`` / ``data-N-value`` for N = 1, 2, ... (the page adds one empty row of each, for a
step or a test data item to add; an emptied row is removed)."""

from __future__ import annotations

import re
from typing import Any

from agent.edits import EditError

_ROW = re.compile(r"(step|data)-(\d{1,3})-(action|data|expected|name|value)")
MAX_FIELD = 20_000


def _value(form: Any, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EditError(f"{name} must be text")
    if len(value) > MAX_FIELD:
        raise EditError(f"{name} is longer than {MAX_FIELD} characters")
    return value


def changes_from_form(form: Any) -> dict[str, Any]:
    """{title, priority, steps, test_data} as the form states them (only the parts it carries)."""
    changes: dict[str, Any] = {}
    for name in ("title", "priority"):
        if name in form:
            changes[name] = _value(form, name)
    rows: dict[str, dict[int, dict[str, str]]] = {"step": {}, "data": {}}
    for name in form.keys():
        match = _ROW.fullmatch(name)
        if match:
            kind, n, part = match.group(1), int(match.group(2)), match.group(3)
            rows[kind].setdefault(n, {})[part] = _value(form, name)
    if rows["step"]:
        changes["steps"] = [{"action": r.get("action", ""), "data": r.get("data", ""), "expected": r.get("expected", "")}
                            for _, r in sorted(rows["step"].items())]
    if rows["data"]:
        data: dict[str, str] = {}
        for _, r in sorted(rows["data"].items()):
            name, value = r.get("name", "").strip(), r.get("value", "")
            if not name and not value.strip():
                continue
            if name in data:
                raise EditError(f"test data {name!r} is given twice" if name else
                                "test data values are given without a name")
            data[name] = value
        changes["test_data"] = data
    return changes

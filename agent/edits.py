"""A reviewer's edit to one generated case, before it is approved: what may change, how it is
checked, and how the case records it.

A reviewer may change a case's title, priority, test data and steps (action, data, expected
result). The edited case must still be a valid UATCase and fit the house template: no required
field left empty, a priority among the template's levels, at most its number of steps, a title
no longer than its limit. The edited case carries the label ``reviewer-edited`` and a line in its
notes saying who changed what and when, so the report and the Test issue in Jira show it.
agent/runner.py writes the edited case into the run's checkpoint (`edit_run`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agent.generation.template import HouseTemplate
from agent.models import Step, UATCase
from agent.review.coverage import template_problems
from connectors.errors import CasewrightError

EDITABLE = ("title", "priority", "test_data", "steps")
"""The fields of a case a reviewer may change."""

EDITED_LABEL = "reviewer-edited"
_FIELD_NAMES = {"title": "title", "priority": "priority", "test_data": "test data", "steps": "steps"}
_STEP_PARTS = (("action", "action"), ("data", "data"), ("expected", "expected result"))


class EditError(CasewrightError):
    """An edit that would leave the case invalid; the message says what to fix."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise EditError(f"{what} must be text")
    return value.replace("\r\n", "\n").strip()


def _steps(value: Any) -> list[Step]:
    if not isinstance(value, list):
        raise EditError("steps must be a list of {action, data, expected}")
    steps = []
    for n, raw in enumerate(value, start=1):
        if not isinstance(raw, dict) or set(raw) - {"action", "data", "expected"}:
            raise EditError(f"step {n} must have only an action, data and an expected result")
        parts = {key: _text(raw.get(key, ""), f"step {n} {name}") for key, name in _STEP_PARTS}
        if not any(parts.values()):
            continue  # an emptied step is a removed step
        for key, name in _STEP_PARTS:
            if key != "data" and not parts[key]:
                raise EditError(f"step {n} has no {name}; write one, or empty the whole step to remove it")
        steps.append(Step(**parts))
    if not steps:
        raise EditError("a case needs at least one step")
    return steps


def _test_data(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise EditError("test data must be pairs of name and value")
    out: dict[str, str] = {}
    for raw_name, raw_value in value.items():
        name, text = _text(raw_name, "a test data name"), _text(raw_value, f"test data {raw_name!r}")
        if not name and not text:
            continue
        if not name:
            raise EditError(f"test data value {text[:40]!r} has no name")
        if name in out:
            raise EditError(f"test data {name!r} is given twice")
        out[name] = text
    return out


def apply_edit(case: UATCase, changes: dict[str, Any], template: HouseTemplate) -> tuple[UATCase, dict[str, Any]]:
    """The case with `changes` applied, checked against the case model and the house template, and
    what changed ({field: {"from": old, "to": new}}; empty when nothing did)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise EditError(f"a reviewer cannot change {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    update: dict[str, Any] = {}
    if "title" in changes:
        update["title"] = " ".join(_text(changes["title"], "the title").split())
        if not update["title"]:
            raise EditError("the title is empty")
        if len(update["title"]) > template.title_max_length:
            raise EditError(f"the title has {len(update['title'])} characters; the house template allows "
                            f"{template.title_max_length}")
    if "priority" in changes:
        update["priority"] = _text(changes["priority"], "the priority")
    if "test_data" in changes:
        update["test_data"] = _test_data(changes["test_data"])
    if "steps" in changes:
        update["steps"] = _steps(changes["steps"])
        if len(update["steps"]) > template.steps.max:
            raise EditError(f"the case has {len(update['steps'])} steps; the house template allows {template.steps.max}")
    try:
        edited = UATCase.model_validate({**case.model_dump(), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise EditError(f"the edited case is not valid: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    problems = [p for p in template_problems(edited, template) if p not in template_problems(case, template)]
    if problems:
        raise EditError(f"the edited case {problems[0]} (house template {template.name!r})")
    changed = {name: {"from": _plain(getattr(case, name)), "to": _plain(getattr(edited, name))}
               for name in update if _plain(getattr(case, name)) != _plain(getattr(edited, name))}
    return edited, changed


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_dump() if isinstance(v, Step) else v for v in value]
    return value


def describe(changed: dict[str, Any]) -> str:
    """'title, expected result of step 2' for the note and the run record."""
    parts = []
    for name, change in changed.items():
        if name != "steps":
            parts.append(_FIELD_NAMES[name])
            continue
        old, new = change["from"], change["to"]
        for n in range(1, max(len(old), len(new)) + 1):
            a, b = (old[n - 1] if n <= len(old) else None), (new[n - 1] if n <= len(new) else None)
            if a is None:
                parts.append(f"step {n} added")
            elif b is None:
                parts.append(f"step {n} removed")
            else:
                parts += [f"{label} of step {n}" for key, label in _STEP_PARTS if a[key] != b[key]]
    return ", ".join(parts)


def mark_edited(case: UATCase, changed: dict[str, Any], *, by: str, at: str) -> UATCase:
    """The case labelled `reviewer-edited`, with a note of who changed what and when."""
    note = f"Reviewer edit by {by or 'a reviewer'} at {at}: {describe(changed)}."
    return case.model_copy(update={
        "labels": list(dict.fromkeys([*case.labels, EDITED_LABEL])),
        "notes": f"{case.notes.rstrip()} {note}".strip(),
    })

"""A generated case as a test-management tool holds it, and what a tool holds as the reconciliation
sees it (agent/writeback/reconcile.py), the same for Xray, Zephyr Scale and TestRail.

- `managed_case`: a UATCase as a ManagedCase (connectors/managed_cases.py): title, the objective
  with the criteria it verifies, the persona, preconditions and test data as preconditions, the
  steps, the priority and type mapped by the house template's field map of the tool (`tools:` in
  the template), its custom fields, labels outside casewright's namespace, the story's numeric id;
- the identity record stored IN the tool with it: ``{"target", "case_id", "story_key", "kind",
  "fingerprint", "criteria", "content_hash_at_write", "run_id"}`` (fingerprint and criteria texts
  as for Jira, agent/writeback/identity.py; the hash is of the tool's own fields, `native(case)`);
- `desired` and `record`: both sides described alike, so a person's edit in the tool (its fields
  hash differently from the hash at write) is a conflict, and matching never uses positions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agent.generation.template import ToolFields, is_reserved_label
from agent.models import UATCase
from agent.writeback.identity import clean_label, criteria_of, fingerprint, mask_ids, normalise
from agent.writeback.reconcile import Desired, Record
from connectors.managed_cases import CaseStep, ManagedCase, StoredCase


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return normalise(value)
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def native_hash(content: dict[str, Any]) -> str:
    """The hash of a tool's fields (`native(case)` or `StoredCase.content`), whitespace-insensitive."""
    text = json.dumps(_normalised(content), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def native_text(content: dict[str, Any]) -> str:
    """A tool's fields as one text for matching by similarity: normalised, positional ids blanked."""
    return normalise(mask_ids("\n".join(_strings(content))))


def _fill(value: Any, case: UATCase, epic_key: str, priority: str) -> Any:
    if not isinstance(value, str):
        return value
    for name, text in (("story", case.story_key), ("epic", epic_key), ("kind", case.kind), ("priority", priority)):
        value = value.replace("{" + name + "}", text)
    return value


def managed_case(case: UATCase, fields: ToolFields, *, epic_key: str, story_id: str | None = None) -> ManagedCase:
    """The case as the tool will hold it (its identity is added by `with_identity`)."""
    objective = case.objective.strip()
    if case.criterion_ids:
        objective += ("\n\n" if objective else "") + f"Verifies {', '.join(case.criterion_ids)} of {case.story_key}."
    preconditions = ([f"Persona: {case.persona.strip()}"] if case.persona.strip() else []) + \
        [p.strip() for p in case.preconditions if p.strip()] + \
        [f"Test data: {k} = {v}" for k, v in case.test_data.items()]
    priority = fields.priorities.get(case.priority, case.priority) if case.priority else None
    labels = list(dict.fromkeys(clean_label(lb) for lb in case.labels
                                if clean_label(lb) and not is_reserved_label(lb)))
    return ManagedCase(
        title=case.title, story_key=case.story_key, story_id=story_id or None,
        steps=[CaseStep(s.action, s.data or "", s.expected or "") for s in case.steps],
        objective=objective, preconditions=preconditions, priority=priority,
        case_type=fields.types.get(case.kind), labels=labels,
        custom_fields={k: _fill(v, case, epic_key, priority or "") for k, v in fields.custom_fields.items()})


def with_identity(managed: ManagedCase, case: UATCase, native: dict[str, Any], *, target: str,
                  texts: dict[str, str], run_id: str) -> ManagedCase:
    """`managed` with the identity record the tool stores with it (module docstring)."""
    managed.identity = {"target": target, "case_id": case.id, "story_key": case.story_key, "kind": case.kind,
                        "fingerprint": fingerprint(case, texts), "criteria": list(criteria_of(case, texts)),
                        "content_hash_at_write": native_hash(native), "run_id": run_id}
    return managed


def desired(case: UATCase, native: dict[str, Any], texts: dict[str, str]) -> Desired:
    return Desired(case.id, case.story_key, case.kind, fingerprint(case, texts), criteria_of(case, texts),
                   native_text(native), native_hash(native))


def record(stored: StoredCase, *, target: str, group: str | None, wanted: set[str] = frozenset()) -> Record:
    """A stored case for the reconciliation. One whose create stopped part-way has no hash at write
    (it is completed, not taken for a person's edit); one that holds exactly what casewright would
    write now (`wanted`: those hashes) is not taken for one either (an update that stopped before
    its identity record was rewritten); one another write-back wrote is left alone."""
    identity = stored.identity or {}
    current = native_hash(stored.content)
    criteria = identity.get("criteria")
    blocked = ""
    if identity and identity.get("target") != target:
        blocked = (f"written by --write-back {identity.get('target') or 'issues'}, not {target}; "
                   f"delete it or rerun with that mode")
    return Record(ref=stored.id, group=group, kind=identity.get("kind"), fingerprint=identity.get("fingerprint"),
                  criteria=tuple(str(c) for c in criteria) if isinstance(criteria, list) and criteria else None,
                  content=native_text(stored.content), current_hash=current,
                  hash_at_write=None if not stored.complete else current if current in wanted and identity
                  else identity.get("content_hash_at_write"),
                  retired=stored.retired, blocked=blocked)

"""Who a case issue, story comment or epic summary is: the labels, properties, markers and hashes
write-back recognises its own work by.

Every case issue carries the label ``casewright``, a per-case label ``casewright-case-<case id>``
(the id of its first write) and the issue property ``casewright.case``::

    {"case_id", "story_key", "kind", "fingerprint", "criteria", "content_hash_at_write", "run_id",
     "retired"}

``fingerprint`` is the case's content identity: the story key, the TEXT of its criteria and its
normalised content, not the positional case or criterion ids; ``criteria`` holds those texts
(`criterion_text`, for matching by similarity and for saying which criterion went away);
``content_hash_at_write`` hashes the summary and description exactly as casewright wrote them;
``retired`` is null, or ``{"reason", "run_id", "status_before"}`` once casewright retired the
issue. Story comments and the epic summary carry a marker line and a property on their issue
(``casewright.comment`` / ``casewright.summary``); retire and revive comments a marker line.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from agent.models import UATCase

LABEL = "casewright"
CASE_PROPERTY = "casewright.case"
COMMENT_PROPERTY = "casewright.comment"
SUMMARY_PROPERTY = "casewright.summary"
CRITERION_CHARS = 500
"""How much of each criterion's text the property keeps (the property must stay under 32 kB)."""


def normalise(text: str | None) -> str:
    """Whitespace-insensitive form: each line's runs of spaces collapsed, blank lines dropped."""
    lines = [" ".join(line.split()) for line in str(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def criterion_text(text: str | None) -> str:
    """A criterion's text as the property keeps it and matching compares it: normalised, bounded."""
    return normalise(text)[:CRITERION_CHARS]


def criteria_of(case: UATCase, criteria: dict[str, str] | None = None) -> tuple[str, ...]:
    """The texts of the criteria a case verifies (`criteria`: criterion id -> text), sorted."""
    texts = criteria or {}
    return tuple(sorted(criterion_text(texts.get(cid, cid)) for cid in case.criterion_ids))


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]


def fingerprint(case: UATCase, criteria: dict[str, str] | None = None) -> str:
    """The case's content identity: story key + the TEXT of its criteria (`criteria` maps criterion id ->
    text; an id missing there stands for itself) + its normalised content. Not its id, criterion ids,
    labels or sources, so inserting a criterion (which renumbers the ids after it) leaves it alone."""
    texts = criteria or {}
    return _digest({
        "story": case.story_key,
        "criteria": sorted(normalise(texts.get(cid, cid)) for cid in case.criterion_ids),
        "title": normalise(case.title),
        "objective": normalise(case.objective),
        "persona": normalise(case.persona),
        "preconditions": [normalise(p) for p in case.preconditions],
        "data": {normalise(k): normalise(v) for k, v in case.test_data.items()},
        "steps": [[normalise(s.action), normalise(s.data), normalise(s.expected)] for s in case.steps],
        "priority": case.priority,
        "kind": case.kind,
    })


def content_hash(summary: str | None, description: str | None) -> str:
    return _digest([normalise(summary), normalise(description)])


_CRITERION_ID = re.compile(r"\b[A-Za-z][A-Za-z0-9_]*-\d+/[A-Za-z]+-?\d+\b")


def mask_ids(text: str | None, case_id: str | None = None) -> str:
    """The text with the positional ids (criterion ids, and `case_id`) blanked."""
    out = _CRITERION_ID.sub("<criterion>", str(text or ""))
    return out.replace(case_id, "<case>") if case_id else out


def masked_hash(summary: str | None, description: str | None, case_id: str | None = None) -> str:
    """`content_hash` with the positional ids blanked: two renderings of the same content under
    renumbered ids hash alike."""
    return content_hash(mask_ids(summary, case_id), mask_ids(description, case_id))


def comparable(summary: str | None, description: str | None) -> str:
    """What a case issue holds, as matching by similarity compares it: normalised, ids blanked."""
    return normalise(mask_ids(summary) + "\n" + mask_ids(description))


def case_label(case_id: str) -> str:
    return "casewright-case-" + re.sub(r"[^a-z0-9_.-]+", "-", case_id.lower()).strip("-")


def clean_label(label: str) -> str:
    return re.sub(r"\s+", "-", label.strip())


def marker(kind: str, key: str) -> str:
    return f"[casewright:{kind} {key}]"

"""Turning requirement sentences into tester language: split a criterion into its condition and
its observable outcome, and restate modal requirements ("must display") as expected results
("displays")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MODALS = r"(?:must|should|shall|will|is expected to|are expected to|needs to|need to|has to|have to)"
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes", "can": "can"}
_NEGATIVE = re.compile(
    r"\b(?:4\d\d|5\d\d|error|invalid|reject\w*|declin\w*|den(?:y|ied|ies)|cannot|can't|must not|"
    r"should not|shall not|not (?:be )?(?:allowed|permitted|able)|block\w*|prevent\w*|fail\w*|lock\w*|"
    r"unauthori[sz]ed|forbidden|not found|missing|malformed|exceed\w*|refus\w*|disallow\w*|warning)\b",
    re.I,
)
_CONDITION_LEAD = re.compile(r"^(?:if|when|whenever|where|once|after|given|for|unless|in case)\b\s*(.+?),\s*(.+)$", re.I)
_CONDITION_TAIL = re.compile(r"^(.+?)\s+\b(if|when|whenever|where|once|after|unless|in case|provided that)\b\s+(.+)$", re.I)


@dataclass
class Behaviour:
    condition: str
    outcome: str
    negative: bool


def clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    text = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", text)
    return text.strip()


def sentence(text: str) -> str:
    text = clean(text).rstrip(".;: ")
    if not text:
        return text
    return text[0].upper() + text[1:] + "."


def is_negative(text: str) -> bool:
    return bool(_NEGATIVE.search(text or ""))


def third_person(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def declarative(text: str, subject: str = "the system") -> str:
    """'must display a banner' -> 'displays a banner'; 'Respond with 400' -> 'The API responds with 400'."""
    t = clean(text).rstrip(".")
    t = re.sub(r"^(?:then|and|but)\s+", "", t, flags=re.I)
    t = re.sub(r"^if successful,?\s*", "", t, flags=re.I)
    # "X will be Y" / "X must be Y" -> "X is Y"
    t = re.sub(rf"\b{_MODALS}\s+not\s+be\b", "is not", t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+be\b", "is", t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+not\s+(\w+)", lambda m: "does not " + m.group(1), t, flags=re.I)
    t = re.sub(rf"\b{_MODALS}\s+(\w+)", lambda m: third_person(m.group(1)), t, flags=re.I)
    t = re.sub(r"\bis able to\b", "can", t, flags=re.I)
    t = re.sub(r"^Produces:\s*", "The response content type is ", t, flags=re.I)
    first = t.split(" ", 1)[0].lower() if t else ""
    if first in {"returns", "responds", "displays", "shows", "sends", "creates", "updates", "rejects"}:
        t = f"{subject} {t}"
    elif first in {"return", "respond", "display", "show", "send", "create", "update", "reject", "record",
                   "set", "raise", "log", "notify", "prompt", "block", "allow", "prevent", "save"}:
        rest = t.split(" ", 1)[1] if " " in t else ""
        t = f"{subject} {third_person(first)} {rest}".strip()
    return sentence(t)


def split_behaviour(text: str) -> Behaviour:
    """Split one criterion sentence into (condition, outcome)."""
    t = clean(text).rstrip(".")
    condition, outcome = "", t
    m = _CONDITION_LEAD.match(t)
    if m and not re.match(r"^if successful", t, re.I):
        condition, outcome = m.group(1), m.group(2)
    else:
        m = _CONDITION_TAIL.match(t)
        if m and len(m.group(1).split()) >= 2:
            outcome, condition = m.group(1), f"{m.group(3)}"
            if m.group(2).lower() == "unless":
                condition = f"not ({condition})"
    return Behaviour(condition=condition.strip(), outcome=outcome.strip(), negative=is_negative(t))


def behaviour_phrase(text: str) -> str:
    """The behaviour under test, for a title: 'Verify that <this>'."""
    t = clean(text).rstrip(".")
    t = re.sub(r"^(?:if successful,?\s*)", "", t, flags=re.I)
    t = re.sub(r"^(?:given|when|then)\s+", "", t, flags=re.I)
    return declarative(t).rstrip(".")


def short(text: str, limit: int = 90) -> str:
    t = clean(text)
    return t if len(t) <= limit else t[: limit - 1].rsplit(" ", 1)[0] + "…"

"""The one vocabulary of concrete values: how numbers and units are written in requirements,
and which spellings of a unit mean the same thing ("calendar days" and "days", "hrs" and
"hours"). The limit finder (agent/generation/boundaries.py) and the groundedness review
(agent/review/groundedness.py) both read values with it."""

from __future__ import annotations

import re

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
"""A number as people write it: 1,000.50 or 1000.5 or 21."""

CURRENCY_SYMBOLS = "$£€"
CURRENCY_CODES = ("AUD", "USD", "EUR", "GBP", "NZD")

# unit spellings, longest first within a family so that "business days" wins over "days"
_UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "business day": ("business days?", "working days?"),
    "day": ("calendar days?", "days?"),
    "week": ("weeks?",),
    "fortnight": ("per fortnight", "fortnights?"),
    "month": ("months?",),
    "year": ("years?",),
    "hour": ("hours?", "hrs?"),
    "minute": ("minutes?", "mins?"),
    "second": ("seconds?", "secs?"),
    "attempt": ("attempts?", "tries", "times"),
    "character": ("characters?", "chars?"),
    "digit": ("digits?",),
    "item": ("items?",),
    "instalment": ("instal(?:l)?ments?",),
    "payment": ("payments?",),
    "extension": ("extensions?",),
    "request": ("requests?",),
    "kwh": ("kwh",), "mwh": ("mwh",), "kw": ("kw",),
    "kb": ("kb",), "mb": ("mb",), "gb": ("gb",),
    "cent": ("cents?",),
    "dollar": ("dollars?",),
    "percent": ("percent",),
}
UNITS = "|".join(s for spellings in _UNIT_SPELLINGS.values() for s in spellings)
"""Every unit spelling, as one regex alternation (no group)."""

_CANONICAL = [(re.compile(rf"^(?:{'|'.join(spellings)})$", re.I), unit) for unit, spellings in _UNIT_SPELLINGS.items()]


def canonical_unit(text: str) -> str:
    """The unit a spelling means: "calendar days" -> "day", "hrs" -> "hour", "" -> ""."""
    text = (text or "").strip().lower()
    for pattern, unit in _CANONICAL:
        if pattern.match(text):
            return unit
    return text

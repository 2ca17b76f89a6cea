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


# Fixed conversions only: a week is always 7 days and a year always 12 months, but a month is not
# a fixed number of days, a day is not 24 hours of service time ("within 1 day" may mean a
# calendar day) and a business day is never a calendar day. So "12 months" and "1 year" are one
# quantity, "365 days" is another, and "10 business days" is neither "2 weeks" nor "14 days".
_FIXED: dict[str, tuple[str, int]] = {
    "week": ("day", 7), "fortnight": ("day", 14),
    "year": ("month", 12),
    "hour": ("second", 3600), "minute": ("second", 60),
}


def base_quantity(value, unit: str):
    """A duration in its family's base unit where the conversion is fixed: (2, "weeks") ->
    (14, "day"), (1, "year") -> (12, "month"), (2, "hours") -> (7200, "second"); anything else
    as (value, canonical unit)."""
    canon = canonical_unit(unit)
    base, factor = _FIXED.get(canon, (canon, 1))
    return value * factor, base

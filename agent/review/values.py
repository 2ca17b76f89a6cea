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
    "millisecond": ("milliseconds?", "msecs?", "ms"),
    "attempt": ("attempts?", "tries", "times"),
    "character": ("characters?", "chars?"),
    "digit": ("digits?",),
    "item": ("items?",),
    "instalment": ("instal(?:l)?ments?",),
    "payment": ("payments?",),
    "extension": ("extensions?",),
    "request": ("requests?",),
    "kwh": ("kwh",), "mwh": ("mwh",), "kw": ("kw",),
    "kb": ("kb", "kilobytes?"), "mb": ("mb", "megabytes?"), "gb": ("gb", "gigabytes?"), "tb": ("tb", "terabytes?"),
    "byte": ("bytes?",),
    "pixel": ("pixels?", "px"),
    "cent": ("cents?",),
    "dollar": ("dollars?",),
    "percent": ("percent",),
}
UNITS = "|".join(s for spellings in _UNIT_SPELLINGS.values() for s in spellings)
"""Every unit spelling, as one regex alternation (no group)."""

_CANONICAL = [(re.compile(rf"^(?:{'|'.join(spellings)})$", re.I), unit) for unit, spellings in _UNIT_SPELLINGS.items()]


# units written as symbols: shown in this form and never given a plural ("301 ms", "6 MB", not "301st m")
UNIT_SYMBOLS: dict[str, str] = {"ms": "ms", "msec": "ms", "msecs": "ms", "kb": "KB", "mb": "MB", "gb": "GB",
                                "tb": "TB", "px": "px", "kwh": "kWh", "mwh": "MWh", "kw": "kW"}
# units that measure a quantity (a duration, a size, a share): a number of them is never a count of things
MEASURE_UNITS = frozenset({"business day", "day", "week", "fortnight", "month", "year", "hour", "minute", "second",
                           "millisecond", "character", "digit", "kwh", "mwh", "kw", "kb", "mb", "gb", "tb", "byte",
                           "pixel", "cent", "dollar", "percent"})


def unit_text(unit: str, value) -> str:
    """A unit as it is written next to `value`: a symbol in its usual form ("MB", "ms"), a word in
    the number `value` needs ("1 second", "31 seconds")."""
    unit = (unit or "").strip()
    symbol = UNIT_SYMBOLS.get(unit.lower())
    if symbol:
        return symbol
    if unit.lower() == "per fortnight":
        return unit
    if value == 1 and unit.endswith("s") and not unit.endswith("ss"):
        return unit[:-1]
    if value != 1 and not unit.endswith("s"):
        return unit + "s"
    return unit


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

"""Limits, thresholds and enumerations found in requirement text, and the values that test them
just inside and just outside ("up to 21 days" -> 21 accepted, 22 rejected)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from agent.review.values import CURRENCY_SYMBOLS, NUMBER, UNITS, canonical_unit

_NUM = r"(?P<cur>[" + CURRENCY_SYMBOLS + r"])?\s?(?P<num>" + NUMBER + r")\s?(?P<pct>%)?"
_UNIT = r"(?:\s*(?P<unit>" + UNITS + r")\b)?"

# (regex, kind). kind: max = inclusive upper, min = inclusive lower, gt = strictly above,
# lt = strictly below.
_PATTERNS: list[tuple[str, str]] = [
    (r"\b(?:up to|at most|no more than|not more than|maximum(?: of)?|max(?:imum)?\.?|a maximum of|"
     r"not (?:to )?exceed(?:ing)?|within|limited to|capped at|cap of|no later than)\s+" + _NUM + _UNIT, "max"),
    (r"(?:<=|≤)\s*" + _NUM + _UNIT, "max"),
    (_NUM + _UNIT + r"\s+(?:or less|or fewer|or under|at most|maximum)\b", "max"),
    (r"\b(?:at least|no less than|not less than|minimum(?: of)?|min\.?|a minimum of|no fewer than)\s+" + _NUM + _UNIT, "min"),
    (r"(?:>=|≥)\s*" + _NUM + _UNIT, "min"),
    (_NUM + _UNIT + r"\s+or (?:more|greater|over|above)\b", "min"),
    (r"\b(?:more than|greater than|over|above|exceeds?|exceeding|in excess of)\s+" + _NUM + _UNIT, "gt"),
    (r"(?<![<>=])>\s*" + _NUM + _UNIT, "gt"),
    (r"\b(?:less than|fewer than|under|below|before)\s+" + _NUM + _UNIT, "lt"),
    (r"(?<![<>=])<\s*" + _NUM + _UNIT, "lt"),
]
_RANGE = re.compile(
    r"\bbetween\s+" + _NUM.replace("?P<", "?P<a_") + _UNIT.replace("?P<unit>", "?P<a_unit>")
    + r"\s+and\s+" + _NUM.replace("?P<", "?P<b_") + _UNIT.replace("?P<unit>", "?P<b_unit>"),
    re.I,
)
_TIME = re.compile(r"\b(before|after|by|no later than)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b", re.I)


@dataclass(frozen=True)
class Limit:
    kind: str  # max, min, gt, lt
    value: Decimal
    unit: str
    currency: str
    percent: bool
    phrase: str  # the words as written, e.g. "up to 21 days"

    def render(self, value: Decimal) -> str:
        if self.currency:
            return f"{self.currency}{value:,.2f}"
        text = f"{value.normalize():f}" if value == value.to_integral() else f"{value}"
        if self.percent:
            text += "%"
        if self.unit:
            unit = self.unit
            if value == 1 and unit.endswith("s") and not unit.endswith("ss"):
                unit = unit[:-1]
            elif value != 1 and not unit.endswith("s") and unit not in {"per fortnight", "kwh", "mb", "gb"}:
                unit += "s"
            text += f" {unit}"
        return text

    @property
    def step(self) -> Decimal:
        if self.currency or (self.value != self.value.to_integral()):
            return Decimal("0.01")
        return Decimal(1)

    def probes(self) -> list[tuple[Decimal, bool]]:
        """(value, inside) pairs: the edge value that satisfies the limit, and the first that doesn't."""
        v, s = self.value, self.step
        if self.kind == "max":
            return [(v, True), (v + s, False)]
        if self.kind == "min":
            return [(v, True), (v - s, False)]
        if self.kind == "gt":
            return [(v + s, True), (v, False)]
        return [(v - s, True), (v, False)]  # lt


@dataclass(frozen=True)
class TimeLimit:
    kind: str  # before / after
    hour: int
    minute: int
    phrase: str

    def probes(self) -> list[tuple[str, bool]]:
        def fmt(h: int, m: int) -> str:
            suffix = "am" if h < 12 else "pm"
            return f"{(h - 1) % 12 + 1}:{m:02d} {suffix}"

        total = self.hour * 60 + self.minute
        before, at = divmod(total - 1, 60), divmod(total, 60)
        if self.kind in {"before", "by", "no later than"}:
            return [(fmt(*before), True), (fmt(*at), False)]
        return [(fmt(*divmod(total + 1, 60)), True), (fmt(*at), False)]


def _dec(num: str) -> Decimal:
    return Decimal(num.replace(",", ""))


def limit_key(lim: Limit) -> tuple:
    """What makes two limits the same: "35 calendar days" and "35 days" are one limit."""
    return (lim.kind, lim.value, canonical_unit(lim.unit), lim.currency)


def find_limits(text: str) -> list[Limit]:
    """Every numeric limit in the text, in order, without duplicates."""
    found: list[tuple[int, Limit]] = []
    taken: list[tuple[int, int]] = []
    for m in _RANGE.finditer(text):
        cur = m.group("a_cur") or m.group("b_cur") or ""
        unit = (m.group("b_unit") or m.group("a_unit") or "").lower()
        pct = bool(m.group("a_pct") or m.group("b_pct"))
        found.append((m.start(), Limit("min", _dec(m.group("a_num")), unit, cur, pct, m.group(0))))
        found.append((m.start() + 1, Limit("max", _dec(m.group("b_num")), unit, cur, pct, m.group(0))))
        taken.append(m.span())
    for pattern, kind in _PATTERNS:
        for m in re.finditer(pattern, text, re.I):
            if any(a <= m.start() < b for a, b in taken):
                continue
            unit = (m.group("unit") or "").lower()
            num = m.group("num")
            # a bare small number with no unit or currency after "over"/"under" is rarely a limit
            if not unit and not m.group("cur") and not m.group("pct") and kind in {"gt", "lt"} \
                    and not re.search(r"[<>]", m.group(0)):
                continue
            if kind == "lt" and m.group(0).lower().startswith("before") and not unit:
                continue
            before = text[max(0, m.start() - 40):m.start()].lower().split(";")[-1]
            if re.search(r"\b(?:cannot|can't|must not|may not|not|never|no)\b(?:\s+\w+){0,6}\s*$", before):
                kind = {"gt": "max", "lt": "min"}.get(kind, kind)  # "cannot be more than 30 days" = at most 30
            found.append((m.start(), Limit(kind, _dec(num), unit, m.group("cur") or "", bool(m.group("pct")),
                                           m.group(0).strip())))
            taken.append(m.span())
    seen, out = set(), []
    for _, lim in sorted(found, key=lambda x: x[0]):
        key = limit_key(lim)
        if key not in seen:
            seen.add(key)
            out.append(lim)
    return out


def find_time_limits(text: str) -> list[TimeLimit]:
    out = []
    for m in _TIME.finditer(text):
        hour = int(m.group(2)) % 12 + (12 if m.group(4).lower() == "pm" else 0)
        out.append(TimeLimit(m.group(1).lower(), hour, int(m.group(3) or 0), m.group(0)))
    return out


_ENUM_PATTERNS = [
    re.compile(r"\bone of\s*:?\s*(?P<items>[^.;]+)", re.I),
    re.compile(r"\beither\s+(?P<items>[^.;]+?\s+or\s+[^.;,]+)", re.I),
    re.compile(r"\benum:?\s*`?\[(?P<items>[^\]]+)\]", re.I),
    re.compile(r"\b(?:types?|values?|statuses|options|methods|categories)\s*(?:are|is|:|include)\s*:?\s*(?P<items>[^.;]+)", re.I),
]


def find_enumeration(text: str) -> list[str]:
    """Allowed values listed in the text ('one of A, B or C'), or [] when none."""
    for pattern in _ENUM_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        items = re.split(r"\s*(?:,|\bor\b|\band\b|/|\|)\s*", m.group("items"))
        items = [i.strip(" `'\"()") for i in items if i.strip(" `'\"()")]
        items = [i for i in items if len(i.split()) <= 5]
        if 2 <= len(items) <= 8:
            return items
    return []


_AMOUNT = re.compile(r"[$£€]\s?\d[\d,]*(?:\.\d+)?|\b\d+(?:\.\d+)?\s?%|\b[1-5]\d\d\b(?=\s|\)|\.|,|$)")


def concrete_values(text: str) -> list[str]:
    """Amounts, percentages, status codes and numbers-with-units named in the text."""
    values = [m.group(0).strip() for m in _AMOUNT.finditer(text)]
    values += [lim.phrase for lim in find_limits(text)]
    return list(dict.fromkeys(values))

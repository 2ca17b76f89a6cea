"""Limits, thresholds and enumerations found in requirement text, and the values that test them
just inside and just outside ("up to 21 days" -> 21 accepted, 22 rejected).

A count keeps the noun it counts and its window: "at most 2 payment extensions in any rolling 12
months" probes "2 payment extensions in any rolling 12 months" and "a 3rd payment extension in
any rolling 12 months", never a bare "2". Where the noun is not after the number it is taken from
the words before it ("Maximum authorised persons per account: up to 2"). Two limits are one when
they have the same kind and the same quantity (agent/review/values.py `base_quantity`: "35
calendar days" and "35 days", "12 months" and "1 year"; not "365 days", not business days)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from agent.review.values import CURRENCY_SYMBOLS, MEASURE_UNITS, NUMBER, UNITS, base_quantity, canonical_unit, unit_text

_NUM = r"(?P<cur>[" + CURRENCY_SYMBOLS + r"])?\s?(?P<num>" + NUMBER + r")\s?(?P<pct>%)?"
_UNIT = r"(?:\s*(?P<unit>" + UNITS + r")\b)?"

# (regex, kind). kind: max = inclusive upper, min = inclusive lower, gt = strictly above,
# lt = strictly below.
_PATTERNS: list[tuple[str, str]] = [
    (r"\b(?:up to|at most|no more than|not more than|maximum(?: of)?|max(?:imum)?\.?|a maximum of|"
     r"not (?:to )?exceed(?:ing)?|within|limited to|capped at|cap of|no later than|"
     r"(?:no|not) (?:larger|bigger|longer|greater|higher|slower) than)\s+" + _NUM + _UNIT, "max"),
    (r"(?:<=|≤)\s*" + _NUM + _UNIT, "max"),
    (_NUM + _UNIT + r"\s+(?:or less|or fewer|or under|at most|maximum)\b", "max"),
    (r"\b(?:at least|no less than|not less than|minimum(?: of)?|min\.?|a minimum of|no fewer than)\s+" + _NUM + _UNIT, "min"),
    (r"(?:>=|≥)\s*" + _NUM + _UNIT, "min"),
    (_NUM + _UNIT + r"\s+or (?:more|greater|over|above)\b", "min"),
    (r"\b(?:more than|greater than|larger than|bigger than|longer than|over|above|exceeds?|exceeding|in excess of)\s+"
     + _NUM + _UNIT, "gt"),
    (r"(?<![<>=])>\s*" + _NUM + _UNIT, "gt"),
    (r"\b(?:less than|fewer than|under|below|before)\s+" + _NUM + _UNIT, "lt"),
    # a count that triggers the outcome: "after 3 failed attempts in a row the account is locked" (3 or more)
    (r"\bafter\s+" + _NUM + _UNIT + r"(?=\s+[A-Za-z])", "min"),
    # "the caller must correctly answer 2 of the 3 identifiers": at least 2 of them
    (r"\b(?:must|needs? to|has to|have to|required to)\s+(?:[a-z]+\s+){0,2}?" + _NUM + _UNIT + r"(?=\s+of\s+(?:the\s+)?\d)",
     "min"),
    (r"(?<![<>=])<\s*" + _NUM + _UNIT, "lt"),
]
_RANGE = re.compile(
    r"\bbetween\s+" + _NUM.replace("?P<", "?P<a_") + _UNIT.replace("?P<unit>", "?P<a_unit>")
    + r"\s+and\s+" + _NUM.replace("?P<", "?P<b_") + _UNIT.replace("?P<unit>", "?P<b_unit>"),
    re.I,
)
_COUNTED_BEFORE = re.compile(r"\b(?:\d+(?:st|nd|rd|th)?|first|second|third|fourth|fifth|one|two|three|four|five)"
                             r"\s+(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*s?\s*$", re.I)
_ORDINAL_MAX = 99
"""Above this a count one past its maximum is said as a number ("10001 contacts"), not "a 10001st contact"."""
_RATE = re.compile(r"^(?:per|a|an|each|every)\s+(?:(?:business |working |calendar )?day|week|fortnight|month|year|"
                   r"hour|hr|minute|min|second|sec)\b", re.I)
_TIME = re.compile(r"\b(before|after|by|no later than)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b", re.I)


@dataclass(frozen=True)
class Limit:
    kind: str  # max, min, gt, lt
    value: Decimal
    unit: str
    currency: str
    percent: bool
    phrase: str  # the words as written, e.g. "up to 21 days"
    noun: str = ""  # what a count counts, e.g. "payment extensions" (empty for amounts and measures)
    scope: str = ""  # a count's window, e.g. "in any rolling 12 months", "per account"
    name: str = ""  # the parameter or field a bare value is for, e.g. "pageSize" ("pageSize 101")

    def render(self, value: Decimal) -> str:
        if self.name:
            return f"{self.name} {value.normalize():f}"
        if self.noun:
            number = f"{int(value):,}" if value == value.to_integral() and value >= 1000 and "," in self.phrase \
                else f"{value.normalize():f}"
            text = f"{number} {_number_form(self.noun, value)}"
            return f"{text} {self.scope}" if self.scope else text
        if self.currency:
            return f"{self.currency}{value:,.2f}"
        text = f"{value.normalize():f}" if value == value.to_integral() else f"{value}"
        if value == value.to_integral() and value >= 1000 and "," in self.phrase:
            text = f"{int(value):,}"  # written as the story writes it: 50,001
        if self.percent:
            text += "%"
        if self.unit:
            text += f" {unit_text(self.unit, value)}"
        return text

    def probe_text(self, value: Decimal, inside: bool) -> str:
        """How a probe is named: a count one past its maximum as an ordinal ("a 3rd payment
        extension in any rolling 12 months"), anything else as the value with its unit."""
        if self.noun and not inside and self.kind == "max" and value == value.to_integral() and not self.rate \
                and value <= _ORDINAL_MAX:
            text = f"a {_ordinal(int(value))} {_number_form(self.noun, Decimal(1))}"
            return f"{text} {self.scope}" if self.scope else text
        return self.render(value)

    @property
    def rate(self) -> bool:
        """A count per unit of time ("120 requests per minute") is a rate: a quantity, probed as
        "121 requests per minute", never as an ordinal."""
        return bool(_RATE.match(self.scope))

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
    """What makes two limits the same: "35 calendar days" and "35 days" are one limit, and so are
    "12 months" and "1 year"; an amount or a percentage keeps its unit as written."""
    # "at most 5 MB" and "larger than 5 MB" are one boundary: 5 MB accepted, 6 MB not
    kind = {"gt": "max", "lt": "min"}.get(lim.kind, lim.kind)
    lim = Limit(kind, lim.value, lim.unit, lim.currency, lim.percent, lim.phrase, lim.noun, lim.scope)
    if lim.currency or lim.percent:
        return (lim.kind, lim.value.normalize(), canonical_unit(lim.unit), "", lim.currency, lim.percent)
    if lim.noun:  # a count: what is counted ("payment extensions" and "extensions" are one)
        return (lim.kind, lim.value.normalize(), _singular(lim.noun.split(" ")[-1]).lower(), lim.scope, "", False)
    value, unit = base_quantity(lim.value, lim.unit)
    return (lim.kind, value.normalize(), unit, "", "", False)


# units that measure (a count of them needs no other noun); other units are counted things
_MEASURES = MEASURE_UNITS
_NOT_NOUN = set("""in per within during of for on at to from with by and or but is are was were be been can
cannot may must should shall will would could than that which who whom whose the a an any each every no
before after over under above below between until unless if when while so as it they this these those
not only also just more less fewer most least""".split())
_SCOPE = re.compile(r"^\s*(at (?:a|any one|one) time|at once|(?:in|per|within|during|every|each|over)\s+(?:(?:any|a|an|the|each|every|one|rolling|"
                    r"calendar|consecutive|last|past|previous|same|single)\s+)*(?:\d+\s+)?[a-z][a-z-]*)(?![\w-])", re.I)
_NUMBER_OF = re.compile(r"\bnumber of\s+((?:[a-z][a-z-]*\s+){0,2}?[a-z][a-z-]*)\s+(?:\w+\s+){0,3}$", re.I)
_OF_TOTAL = re.compile(r"^\s*(of\s+(?:the\s+)?\d+\s+[a-z][a-z-]*)", re.I)
_LEADING_LIMIT_WORDS = re.compile(r"^(?:(?:the|a|an|maximum|minimum|max|min|limit|cap|number|of|on|total)\b[\s.]*)+",
                                  re.I)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _singular(word: str) -> str:
    w = word.lower()
    if w == "people":
        return "person" if word.islower() else "Person"
    if w.endswith("ies") and len(w) > 4:
        return word[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _plural(word: str) -> str:
    w = word.lower()
    if w.endswith("y") and w[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if w.endswith(("ch", "sh", "ss", "x")):
        return word + "es"
    return word if w.endswith("s") else word + "s"


def _number_form(noun: str, value: Decimal) -> str:
    """'payment extensions' for 2, 'payment extension' for 1 (the last word carries the number)."""
    if noun.startswith("of "):
        return noun
    head, _, last = noun.rpartition(" ")
    last = _singular(last) if value == 1 else _plural(_singular(last))
    return f"{head} {last}" if head else last


def _noun_words(tail: str) -> str:
    """The noun right after a number ('authorised persons per account' -> 'authorised persons')."""
    words = []
    tokens = re.findall(r"[A-Za-z][\w'-]*|\S", tail)
    for word in tokens[:4]:
        if not re.fullmatch(r"[A-Za-z][\w'-]*", word) or word.lower() in _NOT_NOUN:
            break
        words.append(word)
    following = tokens[len(words)].lower() if len(tokens) > len(words) else ""
    # a plural noun before a window or the end ('3 reset links per hour') keeps its last word
    if following in {"", ".", ",", ";", ")", "per", "in", "each", "every", "within", "during", "at", "a", "an"} \
            and len(words) > 1 and re.fullmatch(r"[a-z]+s", words[-1]):
        return " ".join(words)
    # a verb right after ('2 attempts lock', '3 days passed') is not part of the noun
    while len(words) > 1 and re.fullmatch(r"[a-z]+(?:ed|s)", words[-1]) and not words[-1].endswith(("ss", "ns", "ts",
                                                                                                    "rs", "ys", "ds")):
        words.pop()
    return " ".join(words)


def _count_noun(text: str, start: int, end: int, unit: str) -> tuple[str, str, int]:
    """(noun, scope, end of the words used) of a count limit matched at text[start:end]; ('', '', end)
    for an amount, a percentage or a measure."""
    if unit and canonical_unit(unit) in _MEASURES:
        return "", "", end
    tail = text[end:]
    of = _OF_TOTAL.match(tail)
    if of and not unit:  # "at least 2 of the 3 identifiers"
        return " ".join(of.group(1).split()), "", end + of.end()
    more = _noun_words(tail)
    noun = " ".join(x for x in (unit, more) if x)
    used = end
    if more:
        used = end + tail.index(more) + len(more)
    elif not unit:
        before = text[:start]
        m = _NUMBER_OF.search(before)
        if m:
            noun = m.group(1)
            scope = _SCOPE.match(tail)
            return noun, (" ".join(scope.group(1).split()) if scope else ""), end + (scope.end() if scope else 0)
        else:  # "Maximum authorised persons per account: up to 2"
            label = re.split(r"[.;!?]", before.rstrip(" :\t"))[-1].strip()
            label = _LEADING_LIMIT_WORDS.sub("", label).strip()
            noun, _, scope = label.partition(" per ")
            noun = noun.strip()
            if not noun or len(noun.split()) > 4:
                return "", "", end
            return noun, (f"per {scope.strip()}" if scope.strip() else ""), end
    if not noun:
        return "", "", end
    m = _SCOPE.match(text[used:])
    scope = ""
    if m:
        scope = " ".join(m.group(1).split())
        used += m.end()
    return noun, scope, used


_FIELD_NAME = re.compile(r"(?:`(?P<quoted>[A-Za-z_][\w.-]*)`|\b(?P<code>[a-z]+[A-Z_][\w]*|[A-Za-z_]\w*(?=\s+(?:query |path |body )?"
                         r"(?:parameter|field|header)\b)))(?:\s+(?:query |path |body )?(?:parameter|field|header|value))?"
                         r"\s+(?:(?:must|should|shall|has to|needs to|can|may)\s+)?(?:be\s+|is\s+|are\s+)?$")


def _field_name(text: str, start: int) -> str:
    """The parameter a bare value is for, named just before its limit ("the pageSize parameter must
    be between 1 and 100", "`limit` is at most 50"), or ''."""
    before = re.split(r"[.;:!?]\s", text[:start])[-1]
    m = _FIELD_NAME.search(before)
    return (m.group("quoted") or m.group("code")) if m else ""


def find_limits(text: str) -> list[Limit]:
    """Every numeric limit in the text, in order, without duplicates."""
    found: list[tuple[int, Limit]] = []
    taken: list[tuple[int, int]] = []
    for m in _RANGE.finditer(text):
        cur = m.group("a_cur") or m.group("b_cur") or ""
        unit = (m.group("b_unit") or m.group("a_unit") or "").lower()
        pct = bool(m.group("a_pct") or m.group("b_pct"))
        # a range's noun is the one after it ("between 1 and 10,000 contacts"), never a label before it
        noun, scope, used = ("", "", m.end()) if cur or pct or not _noun_words(text[m.end():]) \
            else _count_noun(text, m.start(), m.end(), unit)
        noun = "" if noun.startswith("of ") else noun
        phrase = " ".join(text[m.start():used].split()) if noun else m.group(0).strip()
        name = "" if noun or unit or cur or pct else _field_name(text, m.start())
        found.append((m.start(), Limit("min", _dec(m.group("a_num")), unit, cur, pct, phrase, noun, scope, name)))
        found.append((m.start() + 1, Limit("max", _dec(m.group("b_num")), unit, cur, pct, phrase, noun, scope, name)))
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
            if m.group(0).lower().startswith("within") and _COUNTED_BEFORE.search(text[:m.start()]):
                continue  # "a third payment extension within 12 months": the window of a count, not a limit
            cur, pct = m.group("cur") or "", bool(m.group("pct"))
            name = "" if cur or pct or unit or _noun_words(text[m.end():]) else _field_name(text, m.start())
            noun, scope, used = ("", "", m.end()) if cur or pct or name else _count_noun(text, m.start(), m.end(), unit)
            measure = re.match(rf"\s*({UNITS})\b", text[m.end():], re.I)
            if re.match(r"after|must|needs?|has|have|required", m.group(0), re.I) and (
                    not noun or (measure and canonical_unit(measure.group(1).lower()) in _MEASURES)):
                continue  # "after 15 business days", "after 3:00 pm": a time or a value, not a count of things
            phrase = m.group(0).strip()
            if noun:
                written = " ".join(text[m.start():used].split())
                phrase = written if noun.split(" ")[-1] in written else \
                    f"{phrase} {noun}" + (f" {scope}" if scope and scope not in phrase else "")
            found.append((m.start(), Limit(kind, _dec(num), unit, cur, pct, phrase, noun, scope, name)))
            taken.append((m.start(), max(m.end(), used)))
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

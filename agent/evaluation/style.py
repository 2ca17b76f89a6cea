"""Style measures: what a tester reading the rendered feature would call machine-written.

Each scenario of a feature (as the official parser reads it) is checked for
- a truncated name: it ends with "…" or "...", or has "…" anywhere (a cut part of it, such as the
  criterion's words in a boundary case's name), or a quotation opened and never closed;
- a wrongly capitalised step start: the text after the keyword starts with a capitalised common
  word ("And The API is reachable", "Then The response ..."); a proper noun, an acronym or "I" is
  fine;
- a bare verb phrase as a When step: an imperative with no subject ("When Send POST /x",
  "When Inspect the response") where a sentence belongs ("When I send a POST request to /x");
- a repeated step: the same step text twice in one scenario (whatever its keyword);
- placeholder test data: a step or test-data cell that stands in for a value instead of giving one
  ("a valid request body as described in the story", "valid externalKey");
- a count without its noun: a bare number where a count of something belongs ("with 2 (just
  inside 'at most 2')" instead of "2 payment extensions in 12 months"); amounts, percentages,
  times and HTTP status codes are not counts;
- the same limit probed twice: a boundary scenario (tagged @boundary) that probes the same
  quantity as an earlier one of the feature, whatever the spelling ("35 calendar days" and
  "35 days", "12 months" and "1 year"; agent/review/values.py `base_quantity`).
- a misread unit: a duration, size or share said as an ordinal of a noun ("a 301st m", "a 121st
  request per minute", "a 6th MB") or a size symbol in lower case or with a plural ("6 mb", "2 mbs");
- an endpoint glued to a sentence: after "GET /path" a capitalised common word ("GET /x Returns
  404"), a subject of its own ("GET /x the endpoint responds"), or the method again half lower-cased
  ("POST /x pOST /x accepts");
- a condition that is only a quantity: "when 30 seconds", "when 5 MB" (a duration read as a condition);
- a repeated word: the same word twice in a row ("the the", "with with").
A scenario with at least one of them counts once towards the defect rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agent.evaluation.gherkin import feature_scenarios, gherkin_document
from agent.review.values import CURRENCY_SYMBOLS, MEASURE_UNITS, NUMBER, UNITS, UNIT_SYMBOLS, base_quantity, canonical_unit

STYLE_DEFECTS = ("truncated_name", "step_case", "bare_when", "repeated_step", "placeholder_data",
                 "count_without_noun", "limit_probed_twice", "unit_misread", "glued_endpoint", "quantity_condition",
                 "repeated_word")

# words that start a sentence but are never names: a capital after the keyword is wrong
_COMMON_START = frozenset("""
the a an this that these those its it their his her our my your each every no all any some there
then when if after before once while both either neither one only another other such
""".split())
# what a When sentence may start with: a subject
_SUBJECTS = frozenset("i we you they he she it the a an this that these those my our your their its each every "
                      "no all any some one someone somebody nobody".split())
_TRUNCATED = re.compile(r"(?:…|\.\.\.)\s*$|…")


def truncated(name: str) -> bool:
    """A name cut short: an ellipsis at its end or inside it, or an opened quotation never closed."""
    return bool(_TRUNCATED.search(name)) or name.count('"') % 2 == 1 or name.count("“") > name.count("”")
_PLACEHOLDER = re.compile(r"\bas described in the (?:story|ticket|spec\w*)\b|^(?:an? )?valid [A-Za-z][\w-]*$|"
                          r"=\s*(?:an? )?valid [A-Za-z][\w-]*(?=[;)]|$)|"
                          r"^(?:an? )?(?:valid|correct|appropriate|suitable) (?:value|data|input|request body|body)$",
                          re.I)


_LIMIT_WORDS = (r"with|at most|up to|at least|no more than|not more than|no fewer than|no less than|maximum(?: of)?|"
                r"minimum(?: of)?|more than|fewer than|less than|exceed(?:s|ing)?|within|only|just")
_BARE_COUNT = re.compile(rf"(?<![\w{CURRENCY_SYMBOLS}])(?:{_LIMIT_WORDS})\s+((?:{NUMBER}))(?!\d|,\d)(?=\s*(?:[)(,;:'\"’]|$|just\b|"
                         r"and\b|or\b|is\b|are\b))", re.I)
_STATUS_CONTEXT = re.compile(r"status|http|respon|code|return|answer", re.I)
_QUANTITY = re.compile(rf"(?<![\d:.,])(?P<cur>[{CURRENCY_SYMBOLS}])?\s?(?P<num>{NUMBER})(?!:\d)(?:st|nd|rd|th)?\s?(?P<pct>%)?"
                       rf"(?:\s*(?P<unit>{UNITS})\b|\s+(?P<noun>(?:[a-z][\w-]*\s+){{0,2}}?[a-z][\w-]*?)s?\b)?", re.I)


def bare_count(text: str) -> bool:
    """A limit or probe with a bare number ('with 2 (just inside', "'at most 2'"); not an HTTP status code."""
    for m in _BARE_COUNT.finditer(text):
        if len(m.group(1)) == 3 and m.group(1)[0] in "12345" and _STATUS_CONTEXT.search(text):
            continue
        return True
    return False


def _quantity_key(m: re.Match) -> tuple:
    value = Decimal(m.group("num").replace(",", ""))
    if m.group("cur") or m.group("pct"):
        return (m.group("cur") or "", bool(m.group("pct")), value.normalize())
    if m.group("unit"):
        base, unit = base_quantity(value, m.group("unit"))
        return ("", False, base.normalize(), unit)
    noun = (m.group("noun") or "").split()
    return ("", False, value.normalize(), noun[-1].lower().rstrip("s") if noun else "")


def quantities(text: str) -> list[tuple]:
    """Every quantity the text names ("$2,500.01", "22 calendar days", "a 3rd payment extension"),
    each in a form where equal quantities compare equal ("35 days" = "35 calendar days")."""
    return [_quantity_key(m) for m in _QUANTITY.finditer(text or "")]


def probed_quantity(text: str) -> tuple | None:
    """The first quantity a probe names."""
    found = quantities(text)
    return found[0] if found else None


def _probe_text(scenario: dict[str, Any]) -> str:
    """What a boundary scenario probes: its 'Value under test' cell, or else its name."""
    for step in scenario.get("steps", []):
        for row in (step.get("dataTable") or {}).get("rows", []):
            cells = [c.get("value", "") for c in row.get("cells", [])]
            if len(cells) >= 2 and cells[0].strip().lower() in {"value under test", "value", "boundary value"}:
                return cells[1]
    return scenario.get("name", "")


def _is_boundary(scenario: dict[str, Any]) -> bool:
    return any(t.get("name", "").lower() == "@boundary" for t in scenario.get("tags", []))


@dataclass
class StyleCounts:
    scenarios: int = 0
    defective: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STYLE_DEFECTS, 0))


def _first_word(text: str) -> str:
    m = re.match(r"[A-Za-z][\w'-]*", text.strip())
    return m.group(0) if m else ""


def wrong_case(text: str) -> bool:
    """A capitalised common word right after the keyword ('The API ...', 'A request ...')."""
    word = _first_word(text)
    return bool(word) and word[0].isupper() and word[1:].islower() and word.lower() in _COMMON_START


def bare_verb(text: str) -> bool:
    """A When step that is an imperative without a subject ('Send POST /x', 'Inspect the response')."""
    word = _first_word(text)
    if not word or word.lower() in _SUBJECTS:
        return False
    if word[0].isupper() and not word[1:].islower():
        return False  # an acronym or a name (KillBill, API)
    words = text.split()
    second = words[1] if len(words) > 1 else ""
    # "Customer submits ...", "John is ...": a subject followed by its verb
    return not re.fullmatch(r"(?:is|are|was|were|has|have|had|can|does|did|[a-z]+(?<!s)s)", second)


_ORDINAL_OF = re.compile(r"\b\d+(?:st|nd|rd|th)\s+([A-Za-z]+)(?:\s+(per|a|an|each|every)\s+([A-Za-z]+))?", re.I)
_TIME_WORDS = frozenset("second sec minute min hour hr day week fortnight month year".split())
_SYMBOL_MISSPELT = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:(?:kb|mb|gb|tb)\b|(?:ms|kb|mb|gb|tb|px)s\b)", re.I)
_METHOD_PATH = r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+/[^\s]*"
_GLUED = re.compile(_METHOD_PATH + r"\s+(?:(?:the|a|an|this|its|their|each|every)\s+(?!\w+\s+(?:of|to|for)\b)(?=\w+\s+[a-z]+s\b)"
                    r"|(?P<cap>[A-Z][a-z]+)\b|[a-z][A-Z]{2,}\b)")
_QUANTITY_CONDITION = re.compile(r"\b(?:when|if)\s+(?:" + NUMBER + r")\s*(?:%|(?:" + UNITS + r")\b)(?:\s*[(.,;:)]|\s+(?:with|and|for)\b|$)", re.I)
_REPEATED_WORD = re.compile(r"(?<![\w-])([A-Za-z]{2,})\s+\1(?![\w-])", re.I)


def unit_misread(text: str) -> bool:
    """A unit or a rate said as an ordinal ('a 301st m', 'a 121st request per minute'), or a size
    symbol in lower case or with a plural ('6 mb', '2 MBs')."""
    for m in _ORDINAL_OF.finditer(text):
        word = m.group(1)
        unit = canonical_unit(word)
        if word.lower() in UNIT_SYMBOLS or len(word) == 1 or unit in MEASURE_UNITS:
            return True
        if m.group(2) and canonical_unit(m.group(3)) in {canonical_unit(w) for w in _TIME_WORDS}:
            return True  # a rate: '121 requests per minute', never 'a 121st request per minute'
    for m in _SYMBOL_MISSPELT.finditer(text):
        if not re.search(r"KB|MB|GB|TB", m.group(0)) or m.group(0).endswith("s"):
            return True
    return False


def glued_endpoint(text: str) -> bool:
    """An endpoint run into a sentence of its own: 'GET /x Returns 404', 'GET /x the endpoint
    responds', 'POST /x pOST /x accepts'."""
    for m in _GLUED.finditer(text):
        cap = m.group("cap")
        if cap and cap.lower() not in _COMMON_START and not re.fullmatch(r"[A-Z][a-z]+s", cap):
            continue  # a name after the endpoint ('GET /x Monday ...') is fine; 'Returns' is not
        return True
    return False


def quantity_condition(text: str) -> bool:
    """A condition that is only a quantity ('when 30 seconds')."""
    return bool(_QUANTITY_CONDITION.search(text))


def repeated_word(text: str) -> bool:
    return any(not m.group(1).isdigit() and m.group(1).lower() not in {"that", "had", "is"}
               for m in _REPEATED_WORD.finditer(text))


def _text_defects(text: str) -> set[str]:
    """The defects a name or a step's text shows on its own."""
    found = set()
    for name, check in (("unit_misread", unit_misread), ("glued_endpoint", glued_endpoint),
                        ("quantity_condition", quantity_condition), ("repeated_word", repeated_word)):
        if check(text):
            found.add(name)
    return found


def placeholder(text: str) -> bool:
    return bool(_PLACEHOLDER.search(text.strip()))


def scenario_defects(scenario: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    if truncated(scenario.get("name", "")):
        found.add("truncated_name")
    seen: set[str] = set()
    keyword = ""
    for step in scenario.get("steps", []):
        kw = step.get("keyword", "").strip()
        keyword = keyword if kw in {"And", "But", "*"} and keyword else kw
        text = step.get("text", "")
        if wrong_case(text):
            found.add("step_case")
        if keyword == "When" and bare_verb(text):
            found.add("bare_when")
        norm = " ".join(text.lower().split())
        if norm in seen:
            found.add("repeated_step")
        seen.add(norm)
        cells = [c.get("value", "") for row in (step.get("dataTable") or {}).get("rows", []) for c in row.get("cells", [])]
        if placeholder(text) or any(placeholder(c) for c in cells):
            found.add("placeholder_data")
        if bare_count(text):
            found.add("count_without_noun")
        found |= _text_defects(text)
    if bare_count(scenario.get("name", "")):
        found.add("count_without_noun")
    found |= _text_defects(scenario.get("name", ""))
    return found


def style_counts(feature_text: str) -> StyleCounts:
    """The style defects of every scenario in a feature (nothing when it does not parse)."""
    out = StyleCounts()
    try:
        scenarios = feature_scenarios(gherkin_document(feature_text))
    except Exception:  # noqa: BLE001 - an invalid feature is measured by Gherkin validity
        return out
    probed: set[tuple] = set()
    for scenario in scenarios:
        found = scenario_defects(scenario)
        if _is_boundary(scenario):
            quantity = probed_quantity(_probe_text(scenario))
            if quantity is not None and quantity in probed:
                found.add("limit_probed_twice")
            if quantity is not None:
                probed.add(quantity)
        out.scenarios += 1
        out.defective += bool(found)
        for name in found:
            out.counts[name] += 1
    return out

"""Style measures: what a tester reading the rendered feature would call machine-written.

Each scenario of a feature (as the official parser reads it) is checked for
- a truncated name: it ends with "…" or "...";
- a wrongly capitalised step start: the text after the keyword starts with a capitalised common
  word ("And The API is reachable", "Then The response ..."); a proper noun, an acronym or "I" is
  fine;
- a bare verb phrase as a When step: an imperative with no subject ("When Send POST /x",
  "When Inspect the response") where a sentence belongs ("When I send a POST request to /x");
- a repeated step: the same step text twice in one scenario (whatever its keyword);
- placeholder test data: a step or test-data cell that stands in for a value instead of giving one
  ("a valid request body as described in the story", "valid externalKey").
A scenario with at least one of them counts once towards the defect rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.evaluation.gherkin import feature_scenarios, gherkin_document

STYLE_DEFECTS = ("truncated_name", "step_case", "bare_when", "repeated_step", "placeholder_data")

# words that start a sentence but are never names: a capital after the keyword is wrong
_COMMON_START = frozenset("""
the a an this that these those its it their his her our my your each every no all any some there
then when if after before once while both either neither one only another other such
""".split())
# what a When sentence may start with: a subject
_SUBJECTS = frozenset("i we you they he she it the a an this that these those my our your their its each every "
                      "no all any some one someone somebody nobody".split())
_TRUNCATED = re.compile(r"(?:…|\.\.\.)\s*$")
_PLACEHOLDER = re.compile(r"\bas described in the (?:story|ticket|spec\w*)\b|^(?:an? )?valid [A-Za-z][\w-]*$|"
                          r"=\s*(?:an? )?valid [A-Za-z][\w-]*(?=[;)]|$)|"
                          r"^(?:an? )?(?:valid|correct|appropriate|suitable) (?:value|data|input|request body|body)$",
                          re.I)


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


def placeholder(text: str) -> bool:
    return bool(_PLACEHOLDER.search(text.strip()))


def scenario_defects(scenario: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    if _TRUNCATED.search(scenario.get("name", "")):
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
    return found


def style_counts(feature_text: str) -> StyleCounts:
    """The style defects of every scenario in a feature (nothing when it does not parse)."""
    out = StyleCounts()
    try:
        scenarios = feature_scenarios(gherkin_document(feature_text))
    except Exception:  # noqa: BLE001 - an invalid feature is measured by Gherkin validity
        return out
    for scenario in scenarios:
        found = scenario_defects(scenario)
        out.scenarios += 1
        out.defective += bool(found)
        for name in found:
            out.counts[name] += 1
    return out

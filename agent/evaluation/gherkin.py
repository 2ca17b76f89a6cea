"""Gherkin read with the official parser: whether a feature is valid, and its scenarios as text
or as UATCases (how the LAJ reference scripts are compared)."""

from __future__ import annotations

from typing import Any

from agent.models import Step, UATCase


def gherkin_document(text: str) -> dict[str, Any]:
    """The feature as the official parser reads it; raises when it does not parse."""
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    return Parser().parse(TokenScanner(text))


def feature_scenarios(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenarios of a parsed feature in order, those inside a Rule included."""
    feature = doc.get("feature") or {}
    out = []
    stack = list(feature.get("children") or [])
    while stack:
        child = stack.pop(0)
        if "scenario" in child:
            out.append(child["scenario"])
        elif "rule" in child:
            stack[0:0] = list(child["rule"].get("children") or [])
    return out


def gherkin_valid(text: str) -> bool:
    """True when `text` parses with the official parser and holds at least one scenario."""
    try:
        return bool(feature_scenarios(gherkin_document(text)))
    except Exception:  # noqa: BLE001 - CompositeParserException and friends
        return False


def scenario_texts(text: str) -> list[str]:
    """Each scenario of a feature as 'name. step; step; ...' (empty when it does not parse)."""
    try:
        doc = gherkin_document(text)
    except Exception:  # noqa: BLE001
        return []
    return [f"{s.get('name', '')}. " + "; ".join(st["keyword"].strip() + " " + st["text"] for st in s.get("steps", []))
            for s in feature_scenarios(doc)]


def scenario_to_case(scenario: dict[str, Any], story_key: str, case_id: str) -> UATCase:
    """A reference Gherkin scenario as a UATCase: Given -> preconditions, When -> action, Then -> expected."""
    pre: list[str] = []
    steps: list[Step] = []
    action: str | None = None
    expected: list[str] = []
    mode = "given"
    for st in scenario.get("steps", []):
        kw = st["keyword"].strip().lower()
        if kw in ("given", "when", "then"):
            mode = kw
        if mode == "given":
            pre.append(st["text"])
        elif mode == "when":
            if action is not None and expected:
                steps.append(Step(action=action, expected="; ".join(expected)))
                action, expected = None, []
            action = st["text"] if action is None else f"{action}; {st['text']}"
        else:
            expected.append(st["text"])
    if action is not None or expected:
        steps.append(Step(action=action or (pre[-1] if pre else "Run the scenario"),
                          expected="; ".join(expected) or "The outcome is as described"))
    if not steps:
        steps = [Step(action="Run the scenario", expected=scenario.get("name") or "As described")]
    name = scenario.get("name") or case_id
    return UATCase(id=case_id, title=name, objective=name, persona="API consumer", preconditions=pre,
                   steps=steps, story_key=story_key)

"""Gherkin read with the official parser: whether a feature is valid, and its scenarios as text
or as UATCases (how the LAJ reference scripts are compared)."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def gherkin_scenario_text(scenario: dict[str, Any]) -> str:
    """One parsed scenario as 'name. step; step; ...'."""
    return f"{scenario.get('name', '')}. " + "; ".join(
        st["keyword"].strip() + " " + st["text"] for st in scenario.get("steps", []))


@dataclass
class ReferenceFeature:
    """A reference script's scenarios, and the lines that had to be read leniently to get them."""

    scenarios: list[dict[str, Any]]
    repaired: list[tuple[int, str, str]] = field(default_factory=list)   # (line, how it was read, the line)


def _parser_errors(exc: Exception) -> list[Any]:
    return list(getattr(exc, "errors", None) or [exc])


def read_reference_feature(text: str) -> ReferenceFeature:
    """The scenarios of a reference script (data written by people or by an agent, not by casewright).

    The official parser reads it. A line it refuses where a step may stand (e.g. "Or the response
    status code should be 200 ..." under a Then) is kept as a step with Gherkin's neutral `*`
    keyword, so its text stays part of the scenario; any other refused line is read as a comment.
    Every such line is reported in `repaired`; nothing is dropped silently. Generated features are
    judged with `gherkin_valid`, which stays strict."""
    lines = text.splitlines()
    repaired: dict[int, tuple[str, str]] = {}
    for _ in range(len(lines) + 1):
        try:
            doc = gherkin_document("\n".join(lines) + "\n")
        except Exception as exc:  # noqa: BLE001 - CompositeParserException and friends
            bad = []
            for err in _parser_errors(exc):
                line = (getattr(err, "location", None) or {}).get("line")
                if isinstance(line, int) and 1 <= line <= len(lines):
                    bad.append((line, "#StepLine" in str(err)))
            if not bad:
                raise
            for line, step_allowed in bad:
                current = lines[line - 1]
                original = repaired.get(line, ("", current))[1]
                indent = current[:len(current) - len(current.lstrip())]
                if step_allowed and line not in repaired:
                    lines[line - 1] = f"{indent}* {current.strip()}"
                    repaired[line] = ("step", original)
                elif not current.lstrip().startswith("#"):
                    lines[line - 1] = f"{indent}# {original.strip()}"
                    repaired[line] = ("comment", original)
                else:
                    raise
            continue
        return ReferenceFeature(feature_scenarios(doc),
                                [(n, how, original.strip()) for n, (how, original) in sorted(repaired.items())])
    raise ValueError("the reference script could not be read")  # not reached: each round fixes a line


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

"""Scenario Outlines: the Examples table a Gherkin criterion carries, and its steps with one row's values put in.

A ``Scenario Outline:`` (or ``Scenario Template:``) criterion keeps its ``Examples:`` table in its
text (one ``| a | b |`` line per row, the first row naming the columns); its steps use
``<column>`` placeholders. :func:`examples_of` reads the table back, several ``Examples:`` blocks
joined when they share their columns; :func:`substitute` fills one row into a step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.models import AcceptanceCriterion

__all__ = ["Examples", "examples_of", "substitute", "has_placeholders", "without_examples"]

_OUTLINE = re.compile(r"^\s*Scenario (?:Outline|Template)\s*:", re.I)
_EXAMPLES = re.compile(r"^\s*(?:Examples|Scenarios)\s*:", re.I)
_PLACEHOLDER = re.compile(r"<([^<>\n]+)>")


@dataclass
class Examples:
    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|").replace("\\n", "\n").replace("\\\\", "\\") for c in cells]


def examples_of(c: AcceptanceCriterion) -> Examples | None:
    """The Examples table of a Scenario Outline criterion, or None when it has none (or no rows)."""
    lines = c.text.splitlines()
    if not lines or not _OUTLINE.match(lines[0]):
        return None
    columns: list[str] | None = None
    block: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in lines[1:]:
        if _EXAMPLES.match(line):
            block = []
            continue
        if block is None or "|" not in line:
            if block is not None and line.strip():
                block = None
            continue
        cells = _cells(line)
        if not block:
            block = cells
            if columns is None:
                columns = cells
            elif cells != columns:
                block = None  # a block with other columns is not this outline's
            continue
        if len(cells) == len(block):
            rows.append(dict(zip(block, cells)))
    if columns is None or not rows:
        return None
    return Examples(columns=columns, rows=rows)


def substitute(text: str, row: dict[str, str]) -> str:
    """``text`` with each ``<column>`` replaced by the row's value (unknown placeholders stay)."""
    return _PLACEHOLDER.sub(lambda m: row.get(m.group(1).strip(), m.group(0)), text)


def has_placeholders(text: str, columns: list[str]) -> bool:
    return any(m.group(1).strip() in columns for m in _PLACEHOLDER.finditer(text))


def without_examples(text: str) -> str:
    """The scenario's own lines, its Examples blocks left out."""
    kept: list[str] = []
    for line in text.splitlines():
        if _EXAMPLES.match(line):
            break
        kept.append(line)
    return "\n".join(kept)

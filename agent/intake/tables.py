"""Tables in criteria text: which lines are table rows, and each body row as one readable criterion.

The markup converters write table rows as ``a | b | c``; Markdown keeps its ``| a | b |`` rows
and ``|---|---|`` separator. A line with a ``|`` in it is only a table row when it is part of a
table: two or more consecutive pipe lines with the same number of cells, or a row followed by a
separator. A single sentence such as "The export returns a | separated file" is text.

The first row of a table is its header. Each body row becomes one criterion whose text names
every value by its column, "Condition: the password is wrong; Expected result: an error is
shown", and when the header has a condition column and an expected-result column (in English,
German, French or Spanish) those cells also fill the criterion's ``when`` and ``then``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.intake.lexicon import TABLE_CONDITION, TABLE_RESULT
from agent.intake.sections import _BULLET

__all__ = ["Row", "table_rows"]

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class Row:
    text: str
    when: list[str] = field(default_factory=list)
    then: list[str] = field(default_factory=list)


def _cells(line: str) -> list[str] | None:
    s = line.strip()
    if "|" not in s or _BULLET.match(line):
        return None  # a list item with a pipe in it is a list item
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", s)]
    return cells if len(cells) >= 2 else None


def _row(header: list[str], cells: list[str], clean: Callable[[str], str]) -> Row | None:
    values = [clean(c) for c in cells]
    if not any(values):
        return None
    names = [clean(h) for h in header]
    text = "; ".join(f"{h}: {v}" if h else v for h, v in zip(names, values) if v)
    cond = [v for h, v in zip(names, values) if v and TABLE_CONDITION.search(h) and not TABLE_RESULT.search(h)]
    result = [v for h, v in zip(names, values) if v and TABLE_RESULT.search(h)]
    return Row(text, when=cond if result else [], then=result if cond else [])


def _keeps_header(header: list[str], body: list[list[str]]) -> bool:
    """Every named column has a value in some row (else the header's words would be lost: not a table)."""
    return all(not h.strip() or any(i < len(r) and r[i].strip() for r in body) for i, h in enumerate(header))


def table_rows(lines: list[str], clean: Callable[[str], str]) -> dict[int, Row | None]:
    """Line index -> the row's criterion, or None for a header or separator line, for every table line."""
    out: dict[int, Row | None] = {}
    i, n = 0, len(lines)
    in_code = False
    while i < n:
        if _FENCE.match(lines[i]):
            in_code = not in_code
        first = None if in_code else _cells(lines[i])
        if first is None or _SEPARATOR.match(lines[i]):
            i += 1
            continue
        j = i + 1
        seps = 0
        while j < n:
            if _SEPARATOR.match(lines[j]):
                seps += 1
            else:
                c = _cells(lines[j])
                if c is None or len(c) != len(first):
                    break
            j += 1
        body = [c for k in range(i + 1, j) if not _SEPARATOR.match(lines[k]) for c in [_cells(lines[k]) or []]]
        if body and _keeps_header(first, body):
            out[i] = None
            for k in range(i + 1, j):
                out[k] = None if _SEPARATOR.match(lines[k]) else _row(first, _cells(lines[k]) or [], clean)
            i = j
        else:
            i += 1
    return out

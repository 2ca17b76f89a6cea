"""Gherkin keywords in the languages criteria are written in, from the official Cucumber dialect list.

``gherkin-official`` ships the keyword translations (``gherkin-languages.json``); this module maps
the ones for German, French, Spanish, Russian, Arabic, Hindi, Korean, Japanese and Chinese to the
English keyword the parser works with: "Szenario:" -> ``Scenario``, "Angenommen" -> ``Given``,
"もし" -> ``When``, "Beispiele:" -> ``Examples``. English itself is matched by the parser's own
patterns. Only these languages are mapped, because short keywords of other dialects are ordinary
words in English text.
"""

from __future__ import annotations

from functools import lru_cache

from gherkin.dialect import Dialect

__all__ = ["LANGUAGES", "block_keyword", "step_keyword"]

LANGUAGES = ("de", "fr", "es", "ru", "ar", "hi", "ko", "ja", "zh-CN", "zh-TW")

_BLOCKS = (
    ("scenario_outline_keywords", "Scenario Outline"),
    ("background_keywords", "Background"),
    ("examples_keywords", "Examples"),
    ("scenario_keywords", "Scenario"),
    ("feature_keywords", "Feature"),
    ("rule_keywords", "Rule"),
)
_STEPS = (
    ("given_keywords", "Given"),
    ("when_keywords", "When"),
    ("then_keywords", "Then"),
    ("and_keywords", "And"),
    ("but_keywords", "But"),
)


@lru_cache(maxsize=1)
def _tables() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    blocks: dict[str, str] = {}
    steps: dict[str, str] = {}
    for code in LANGUAGES:
        dialect = Dialect.for_name(code)
        if dialect is None:
            continue
        for attr, canonical in _BLOCKS:
            for kw in getattr(dialect, attr):
                blocks.setdefault(kw.strip(), canonical)
        for attr, canonical in _STEPS:
            for kw in getattr(dialect, attr):
                if kw.strip() and kw.strip() != "*":
                    steps.setdefault(kw, canonical)
    longest_first = sorted(blocks.items(), key=lambda kv: -len(kv[0]))
    return longest_first, sorted(steps.items(), key=lambda kv: -len(kv[0]))


@lru_cache(maxsize=1)
def _prefixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every block and step keyword, for one `str.startswith` that rejects most lines at once."""
    blocks, steps = _tables()
    return tuple(kw for kw, _ in blocks), tuple(kw for kw, _ in steps)


def block_keyword(line: str) -> tuple[str, str] | None:
    """(English keyword, the name after the colon) for a translated 'Szenario: name' line."""
    if not line.startswith(_prefixes()[0]):
        return None
    for kw, canonical in _tables()[0]:
        if line.startswith(kw):
            rest = line[len(kw):].lstrip()
            if rest.startswith((":", "：")):
                return canonical, rest[1:].strip()
    return None


def step_keyword(line: str) -> tuple[str, str] | None:
    """(English keyword, the step text) for a translated step such as 'Angenommen ...' or '前提...'."""
    if not line.startswith(_prefixes()[1]):
        return None
    for kw, canonical in _tables()[1]:
        if line.startswith(kw):
            rest = line[len(kw):]
            if kw.endswith(" ") or not kw[-1].isascii():
                if rest.strip():
                    return canonical, rest.strip()
    return None

"""Which rich-text format a string is in: Confluence storage XHTML, Jira wiki markup, or neither (plain text, Markdown)."""

from __future__ import annotations

import re

__all__ = ["looks_like_xhtml", "looks_like_wiki"]

_XHTML_HINT = re.compile(
    r"<(?:p|h[1-6]|ul|ol|li|table|tr|td|th|div|span|strong|em|b|i|br|pre|blockquote|a|code|ac:[\w-]+|ri:[\w-]+)(?:\s[^<>]*)?/?>",
    re.I,
)
_WIKI_STRONG = [
    re.compile(r"^\s*h[1-6]\.\s", re.M),
    re.compile(r"\{(?:code|noformat|quote|panel|color)(?::[^}]*)?\}"),
    re.compile(r"^\s*\|\|", re.M),
    re.compile(r"\[[^\[\]|\n]+\|(?:https?://|mailto:|~)[^\[\]\n]+\]"),
    re.compile(r"\[~[^\[\]\n]+\]"),
    re.compile(r"^\s*(?:\*\*|\*#|#\*)\s", re.M),
    re.compile(r"^\s*bq\.\s", re.M),
    re.compile(r"!\S+\.(?:png|jpe?g|gif)(?:\|[^!\n]*)?!", re.I),
]
_MARKDOWN_HINT = [
    re.compile(r"^\s*```", re.M),
    re.compile(r"^\s*(?:Feature|Background|Scenario(?: Outline| Template)?|Examples)\s*:", re.M),  # Gherkin
    re.compile(r"\*\*[^*\n]+\*\*"),
    re.compile(r"\[[^\]\n]+\]\([^)\n]+\)"),
    re.compile(r"^\s*[-+]\s+\S", re.M),
    re.compile(r"`[^`\n]+`"),
]


def looks_like_xhtml(s: str) -> bool:
    """True when a string is (Confluence storage) XHTML rather than wiki markup or plain text."""
    return len(_XHTML_HINT.findall(s[:20000])) >= 1 and "<" in s.lstrip()[:200]


def _has_markdown_heading(s: str) -> bool:
    """A ``# Title`` line standing alone; runs of ``#`` lines are a wiki numbered list instead."""
    lines = s.split("\n")
    hashed = [bool(re.match(r"^\s{0,3}#{1,6}\s+\S", ln)) for ln in lines]
    for i, h in enumerate(hashed):
        if h and not (i > 0 and hashed[i - 1]) and not (i + 1 < len(hashed) and hashed[i + 1]):
            return True
    return False


def looks_like_wiki(s: str) -> bool:
    """True when a string carries Jira wiki markup that would be wrong to keep verbatim.

    Strong signals (``h3.`` headings, ``{code}``, ``||th||``, ``[text|url]``, ``**`` nested
    bullets...) decide on their own. Weaker ones (``{{mono}}``, ``*bold*`` lines, ``# item``
    lists) count only when the text shows no sign of being Markdown, because ``# Heading`` and
    ``*`` bullets mean different things there.
    """
    sample = s[:20000]
    if any(rx.search(sample) for rx in _WIKI_STRONG):
        return True
    if any(rx.search(sample) for rx in _MARKDOWN_HINT) or _has_markdown_heading(sample):
        return False
    weak = [
        re.compile(r"\{\{[^{}\n]+\}\}"),
        re.compile(r"^\s*\*[^*\s][^*\n]*\*:?\s*$", re.M),
        re.compile(r"^\s*#\s+\S", re.M),
        re.compile(r"(?<![\w*])\*[^\s*][^*\n]*[^\s*]\*(?![\w*])"),
    ]
    return any(rx.search(sample) for rx in weak)

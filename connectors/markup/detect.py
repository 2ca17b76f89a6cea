"""Which rich-text format a string is in: Confluence storage XHTML, Jira wiki markup, or neither (plain text, Markdown).

A string is storage XHTML only when it is a real document: it opens with a block element
(``<p>``, ``<h2>``, ``<ul>``, ``<table>``, ``<ac:structured-macro>``...) and every piece of text
at its top level sits inside an element. Plain text that merely contains markup characters
(``<b>``, ``<script>``, ``a < b``) is text and is kept as written.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString

__all__ = ["looks_like_xhtml", "looks_like_wiki"]

_BLOCK_START = re.compile(
    r"^<(?:p|h[1-6]|ul|ol|table|div|section|blockquote|pre|hr|dl|ac:[\w-]+|ri:[\w-]+)(?:[\s/>])",
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
    """True when a string is a (Confluence storage) XHTML document rather than text with a few tags in it."""
    doc = s.strip()
    if not _BLOCK_START.match(doc) or not doc.endswith(">"):
        return False
    soup = BeautifulSoup(doc, "html.parser")
    return all(type(node) is not NavigableString or not node.strip() for node in soup.contents)


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

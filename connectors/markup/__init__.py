"""Turn the rich text that Jira and Confluence return into clean plain text that keeps its structure.

Three inputs are understood, each by a module of this package:

* Jira wiki markup (REST v2 descriptions and custom fields) -> :func:`wiki_to_text` (``wiki``)
* Atlassian Document Format, the JSON tree of REST v3 -> :func:`adf_to_text` (``adf``)
* Confluence storage format, an XHTML dialect -> :func:`storage_to_text` (``storage``)

All three produce the same plain-text conventions, so that the acceptance-criteria parser and the
knowledge chunker only ever read one shape:

* headings on their own line, Markdown-style: ``## Title`` (level = number of ``#``)
* bullet items as ``- item`` and numbered items as ``1. item``; nesting indents by two spaces
* table rows as ``a | b | c`` (header rows too), one row a line
* code blocks fenced by a line of three backticks, their content kept verbatim
* quotes as ``> text``; horizontal rules as ``---``
* links as ``text (url)`` when the text differs from the url

:func:`to_text` picks the right converter for a value whose origin is unknown (the format is told
apart by :mod:`connectors.markup.detect`); plain text and Markdown pass through unchanged apart
from line-ending normalisation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from connectors.markup.adf import adf_to_text
from connectors.markup.detect import looks_like_wiki, looks_like_xhtml
from connectors.markup.storage import storage_to_text
from connectors.markup.wiki import wiki_to_text

__all__ = ["wiki_to_text", "adf_to_text", "storage_to_text", "to_text", "looks_like_wiki", "looks_like_xhtml"]


def to_text(value: Any) -> str:
    """Convert any description-like value to structured plain text.

    ``None`` -> ``""``; a dict -> ADF; a string holding an ADF JSON document -> ADF; a string
    that looks like XHTML -> storage format; a string with Jira wiki markup -> wiki; anything
    else (plain text, Markdown) passes through with only line endings normalised.
    """
    if value is None:
        return ""
    if isinstance(value, dict):
        if "storage" in value and isinstance(value["storage"], dict):
            return storage_to_text(str(value["storage"].get("value", "")))
        return adf_to_text(value)
    if isinstance(value, list):
        return "\n".join(to_text(v) for v in value if v is not None)
    s = str(value).replace("\r\n", "\n").replace("\r", "\n")
    stripped = s.strip()
    if not stripped:
        return ""
    if stripped.startswith("{") and '"type"' in stripped[:200] and '"doc"' in stripped[:400]:
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("type") == "doc":
            return adf_to_text(doc)
    if looks_like_xhtml(stripped):
        return storage_to_text(stripped)
    if looks_like_wiki(stripped):
        return wiki_to_text(stripped)
    # leading blank lines go, the first line's indentation stays (it is part of the text: a nested item)
    return re.sub(r"^(?:[ \t]*\n)+", "", s).rstrip()

"""Confluence storage format (an XHTML dialect) to structured plain text."""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup, CData, Comment, NavigableString, Tag

from connectors.markup.tidy import FENCE, _tidy

__all__ = ["storage_to_text"]

_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "ul", "ol", "li", "table", "pre",
    "blockquote", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd",
    "ac:structured-macro", "ac:macro", "ac:rich-text-body", "ac:layout", "ac:layout-section",
    "ac:layout-cell", "ac:task-list", "ac:task", "ac:adf-extension",
}
_SKIP_TAGS = {"ac:parameter", "ac:image", "ac:emoticon", "script", "style", "ac:placeholder", "ri:attachment", "ac:task-id", "ac:task-status"}
_TEXT_MACROS = {"info", "note", "warning", "tip", "panel", "expand", "details", "section", "column", "excerpt", "ui-expand", "tabs"}


def _macro_param(el: Tag, name: str) -> str:
    for p in el.find_all("ac:parameter", recursive=False):
        if p.get("ac:name") == name:
            return p.get_text(" ", strip=True)
    return ""


class _StorageRenderer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []

    def flush(self, prefix: str = "") -> None:
        text = re.sub(r"[ \t\xa0]+", " ", "".join(self.buf)).strip()
        self.buf = []
        if text:
            for ln in text.split("\n"):
                self.lines.append(prefix + ln.strip())

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def inline(self, el: Any) -> str:
        """Inline text of an element (links, users and formatting flattened)."""
        if isinstance(el, Comment):
            return ""
        if isinstance(el, NavigableString):
            return str(el)
        if not isinstance(el, Tag):
            return ""
        name = el.name
        if name in _SKIP_TAGS:
            return ""
        if name == "br":
            return "\n"
        if name == "ac:link":
            body = el.find(["ac:link-body", "ac:plain-text-link-body"])
            if body is not None and body.get_text(strip=True):
                return body.get_text(" ", strip=True)
            page = el.find(["ri:page", "ri:blog-post", "ri:attachment", "ri:space"])
            if page is not None:
                return page.get("ri:content-title") or page.get("ri:filename") or page.get("ri:space-key") or ""
            user = el.find("ri:user")
            if user is not None:
                return "@" + (user.get("ri:username") or user.get("ri:account-id") or user.get("ri:userkey") or "user")
            return el.get_text(" ", strip=True)
        if name == "ri:user":
            return "@" + (el.get("ri:username") or el.get("ri:account-id") or "user")
        if name == "a":
            text = "".join(self.inline(c) for c in el.children).strip()
            href = el.get("href") or ""
            return f"{text} ({href})" if href and text and text != href else (text or href)
        if name == "time":
            return el.get("datetime") or el.get_text()
        if name in ("ac:structured-macro", "ac:macro"):
            return self.macro_inline(el)
        if name in ("ac:plain-text-body",):
            return el.get_text()
        return "".join(self.inline(c) for c in el.children)

    def macro_inline(self, el: Tag) -> str:
        mname = el.get("ac:name", "")
        if mname == "jira":
            return _macro_param(el, "key")
        if mname == "status":
            return _macro_param(el, "title")
        body = el.find("ac:rich-text-body")
        if body is not None:
            return body.get_text(" ", strip=True)
        return ""

    def table(self, el: Tag, prefix: str) -> None:
        self.flush(prefix)
        for tr in el.find_all("tr"):
            if tr.find_parent("table") is not el:
                continue
            cells = []
            for cell in tr.find_all(["th", "td"], recursive=False):
                sub = _StorageRenderer()
                sub.walk_children(cell, "")
                sub.flush()
                cells.append(" ".join(ln.strip() for ln in sub.lines if ln.strip()))
            self.lines.append(prefix + " | ".join(cells))
        self.blank()

    def list_(self, el: Tag, prefix: str, depth: int) -> None:
        self.flush(prefix)
        ordered = el.name == "ol"
        n = int(el.get("start", 1) or 1) if ordered else 1
        indent = prefix + "  " * depth
        for li in el.find_all("li", recursive=False):
            marker = f"{n}. " if ordered else "- "
            sub = _StorageRenderer()
            nested: list[Tag] = []
            for child in li.children:
                if isinstance(child, Tag) and child.name in ("ul", "ol"):
                    nested.append(child)
                    continue
                sub.walk(child, "")
            sub.flush()
            text_lines = [ln for ln in sub.lines if ln.strip()]
            first = text_lines[0] if text_lines else ""
            self.lines.append(indent + marker + first)
            for ln in text_lines[1:]:
                self.lines.append(indent + "  " + ln)
            for sub_list in nested:
                self.list_(sub_list, prefix, depth + 1)
            n += 1
        if depth == 0:
            self.blank()

    def walk_children(self, el: Tag, prefix: str) -> None:
        for child in el.children:
            self.walk(child, prefix)

    def walk(self, el: Any, prefix: str) -> None:
        if isinstance(el, Comment):
            return
        if isinstance(el, CData):
            self.buf.append(str(el))
            return
        if isinstance(el, NavigableString):
            self.buf.append(str(el).replace("\n", " "))
            return
        if not isinstance(el, Tag):
            return
        name = el.name
        if name in _SKIP_TAGS:
            return
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.flush(prefix)
            self.blank()
            text = re.sub(r"\s+", " ", self.inline(el)).strip()
            if text:
                self.lines.append(prefix + "#" * int(name[1]) + " " + text)
            return
        if name in ("ul", "ol"):
            self.list_(el, prefix, 0)
            return
        if name == "table":
            self.table(el, prefix)
            return
        if name == "pre":
            self.flush(prefix)
            self.lines.extend([prefix + FENCE, *[prefix + ln for ln in el.get_text().strip("\n").split("\n")], prefix + FENCE])
            return
        if name == "hr":
            self.flush(prefix)
            self.lines.append(prefix + "---")
            return
        if name == "blockquote":
            self.flush(prefix)
            self.walk_children(el, prefix + "> ")
            self.flush(prefix + "> ")
            return
        if name in ("ac:structured-macro", "ac:macro"):
            self.macro(el, prefix)
            return
        if name == "ac:task":
            self.flush(prefix)
            status = el.find("ac:task-status")
            body = el.find("ac:task-body")
            done = status is not None and status.get_text(strip=True) == "complete"
            text = self.inline(body).strip() if body is not None else ""
            self.lines.append(prefix + ("- [x] " if done else "- [ ] ") + text)
            return
        if name in ("br",):
            self.buf.append("\n")
            return
        if name in _BLOCK_TAGS:
            self.flush(prefix)
            self.walk_children(el, prefix)
            self.flush(prefix)
            if name == "p":
                self.blank()
            return
        self.buf.append(self.inline(el))

    def macro(self, el: Tag, prefix: str) -> None:
        mname = (el.get("ac:name") or "").lower()
        if mname in ("code", "noformat"):
            self.flush(prefix)
            body = el.find("ac:plain-text-body")
            text = body.get_text() if body is not None else ""
            lang = _macro_param(el, "language") if mname == "code" else ""
            title = _macro_param(el, "title")
            if title:
                self.lines.append(prefix + title)
            self.lines.extend([prefix + FENCE + lang, *[prefix + ln for ln in text.strip("\n").split("\n")], prefix + FENCE])
            self.blank()
            return
        if mname in ("jira", "status", "anchor"):
            self.buf.append(self.macro_inline(el))
            return
        body = el.find("ac:rich-text-body")
        plain = el.find("ac:plain-text-body")
        if body is None and plain is None:
            # toc, children, attachments, include... carry no text of their own
            return
        self.flush(prefix)
        title = _macro_param(el, "title")
        if title:
            self.lines.append(prefix + title)
        if body is not None:
            self.walk_children(body, prefix)
        elif plain is not None:
            self.buf.append(plain.get_text())
        self.flush(prefix)
        self.blank()


def storage_to_text(xhtml: str) -> str:
    """Convert Confluence storage-format XHTML to structured plain text.

    Headings become ``## Heading`` lines so a chunker can split by heading path; info, note,
    warning, tip, panel and expand macros keep their body text (and title); code macros keep
    their body verbatim between fences; tables keep every row as ``a | b``.
    """
    if not xhtml or not xhtml.strip():
        return ""
    soup = BeautifulSoup(xhtml, "html.parser")
    r = _StorageRenderer()
    r.walk_children(soup, "")
    r.flush()
    return _tidy(r.lines)

"""Turn the rich text that Jira and Confluence return into clean plain text that keeps its structure.

Three inputs are understood:

* Jira wiki markup (REST v2 descriptions and custom fields) -> :func:`wiki_to_text`
* Atlassian Document Format, the JSON tree of REST v3 -> :func:`adf_to_text`
* Confluence storage format, an XHTML dialect -> :func:`storage_to_text`

All three produce the same plain-text conventions, so that the acceptance-criteria parser and the
knowledge chunker only ever read one shape:

* headings on their own line, Markdown-style: ``## Title`` (level = number of ``#``)
* bullet items as ``- item`` and numbered items as ``1. item``; nesting indents by two spaces
* table rows as ``a | b | c`` (header rows too), one row a line
* code blocks fenced by a line of three backticks, their content kept verbatim
* quotes as ``> text``; horizontal rules as ``---``
* links as ``text (url)`` when the text differs from the url

:func:`to_text` picks the right converter for a value whose origin is unknown; plain text and
Markdown pass through unchanged apart from line-ending normalisation.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from bs4 import BeautifulSoup, CData, Comment, NavigableString, Tag

from connectors.errors import CasewrightError

__all__ = ["wiki_to_text", "adf_to_text", "storage_to_text", "to_text", "looks_like_wiki", "looks_like_xhtml"]

FENCE = "```"


def _tidy(lines: list[str]) -> str:
    """Strip trailing spaces and collapse runs of blank lines (outside code fences)."""
    out: list[str] = []
    in_code = False
    for line in lines:
        if line.strip().startswith(FENCE):
            in_code = not in_code
            out.append(line.rstrip())
            continue
        if in_code:
            out.append(line.rstrip())
            continue
        line = line.rstrip()
        if not line.strip():
            if out and out[-1] == "":
                continue
            out.append("")
        else:
            out.append(line)
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


# --------------------------------------------------------------------------- Jira wiki markup

_WIKI_CODE = re.compile(r"\{(code|noformat)(?::([^}]*))?\}(.*?)\{\1\}", re.S)
_WIKI_QUOTE = re.compile(r"\{quote\}(.*?)\{quote\}", re.S)
_WIKI_PANEL = re.compile(r"\{panel(?::([^}]*))?\}(.*?)\{panel\}", re.S)
_WIKI_COLOR = re.compile(r"\{color(?::[^}]*)?\}(.*?)\{color\}", re.S)
_WIKI_OTHER_MACRO = re.compile(r"\{(?:anchor|toc|children|status|jira)(?::[^}]*)?\}")
_WIKI_HEADING = re.compile(r"^\s*h([1-6])\.\s*(.*)$")
_WIKI_LIST = re.compile(r"^\s*([*#\-]+)\s+(.*)$")
_WIKI_IMAGE = re.compile(r"!([^!\s|]+?\.(?:png|jpe?g|gif|svg|bmp|webp))(?:\|[^!]*)?!", re.I)
_WIKI_LINK = re.compile(r"\[([^\[\]|]*)\|([^\[\]]+)\]|\[((?:https?|mailto|file):[^\[\]\s]+)\]|\[~([^\[\]]+)\]")
_WIKI_MONO = re.compile(r"\{\{(.+?)\}\}")
_WIKI_BOLD = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_WIKI_ITALIC = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_WIKI_STRIKE = re.compile(r"(?<![\w\-])-(?=[^\s\-])(.+?)(?<=[^\s\-])-(?![\w\-])")
_WIKI_INS = re.compile(r"(?<![\w+])\+(?=[^\s+])(.+?)(?<=[^\s+])\+(?![\w+])")
_WIKI_SUP = re.compile(r"(?<![\w^])\^(?=\S)(.+?)(?<=\S)\^(?![\w^])")
_WIKI_SUB = re.compile(r"(?<![\w~])~(?=\S)(.+?)(?<=\S)~(?![\w~])")
_WIKI_CITE = re.compile(r"\?\?(?=\S)(.+?)(?<=\S)\?\?")


def _wiki_inline(s: str) -> str:
    s = _WIKI_IMAGE.sub(lambda m: f"(image: {m.group(1)})", s)

    def link(m: re.Match[str]) -> str:
        if m.group(4) is not None:
            return "@" + m.group(4)
        if m.group(3) is not None:
            return m.group(3)
        text, url = m.group(1).strip(), m.group(2).strip()
        if url.startswith("~"):
            url = "@" + url[1:]
        if not text or text == url:
            return url
        return f"{text} ({url})"

    s = _WIKI_LINK.sub(link, s)
    s = _WIKI_MONO.sub(lambda m: m.group(1), s)
    for rx in (_WIKI_BOLD, _WIKI_ITALIC, _WIKI_STRIKE, _WIKI_INS, _WIKI_SUP, _WIKI_SUB, _WIKI_CITE):
        s = rx.sub(lambda m: m.group(1), s)
    s = s.replace("\\\\", "\n")
    return s


def _wiki_table_row(line: str) -> str:
    body = line.strip()
    cells = re.split(r"\|\|?", body.strip("|"))
    return " | ".join(c.strip() for c in cells)


def _lone_markdown_heading(lines: list[str], i: int) -> bool:
    m = re.match(r"^(#{1,6})\s+(.*\S)\s*$", lines[i])
    if not m:
        return False
    def hashed(j: int) -> bool:
        return 0 <= j < len(lines) and bool(re.match(r"^\s*#+\s", lines[j]))
    if hashed(i - 1) or hashed(i + 1):
        return False
    title = m.group(2)
    return (len(m.group(1)) >= 2 or len(title.split()) <= 6) and not title.endswith((".", "!", "?", ";"))


def wiki_to_text(s: str) -> str:
    """Convert Jira wiki markup to structured plain text (see the module docstring)."""
    if not s:
        return ""
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[str] = []

    def keep_code(m: re.Match[str]) -> str:
        body = m.group(3).strip("\n")
        lang = ""
        if m.group(1) == "code" and m.group(2):
            first = m.group(2).split("|")[0]
            lang = "" if "=" in first else first.strip()
        blocks.append(f"{FENCE}{lang}\n{body}\n{FENCE}")
        return f"\n\x00{len(blocks) - 1}\x00\n"

    s = _WIKI_CODE.sub(keep_code, s)

    def quote(m: re.Match[str]) -> str:
        return "\n" + "\n".join("> " + ln if ln.strip() else ">" for ln in m.group(1).strip("\n").split("\n")) + "\n"

    def panel(m: re.Match[str]) -> str:
        title = ""
        for part in (m.group(1) or "").split("|"):
            if part.strip().lower().startswith("title="):
                title = part.split("=", 1)[1].strip()
        return ("\n" + title + "\n" if title else "\n") + m.group(2).strip("\n") + "\n"

    s = _WIKI_QUOTE.sub(quote, s)
    s = _WIKI_PANEL.sub(panel, s)
    s = _WIKI_COLOR.sub(lambda m: m.group(1), s)
    s = _WIKI_OTHER_MACRO.sub("", s)

    out: list[str] = []
    counters: dict[int, int] = {}
    src = s.split("\n")
    for idx, raw in enumerate(src):
        m = re.fullmatch(r"\x00(\d+)\x00", raw.strip())
        if m:
            out.extend(blocks[int(m.group(1))].split("\n"))
            counters.clear()
            continue
        line = raw.rstrip()
        h = _WIKI_HEADING.match(line)
        if h:
            out.append("#" * int(h.group(1)) + " " + _wiki_inline(h.group(2)).strip())
            counters.clear()
            continue
        if line.lstrip().startswith("bq."):
            out.append("> " + _wiki_inline(line.lstrip()[3:].strip()))
            continue
        if re.fullmatch(r"\s*-{4,}\s*", line):
            out.append("---")
            continue
        if line.lstrip().startswith("|"):
            out.append(_wiki_inline(_wiki_table_row(line)))
            counters.clear()
            continue
        lm = _WIKI_LIST.match(line)
        if lm and _lone_markdown_heading(src, idx):
            # "## Acceptance Criteria" alone between non-list lines: a Markdown heading pasted into wiki text
            out.append(line.strip())
            counters.clear()
            continue
        if lm and not (lm.group(1).startswith("-") and len(lm.group(1)) > 1):
            marks = lm.group(1)
            depth = len(marks)
            indent = "  " * (depth - 1)
            for d in [d for d in counters if d > depth]:
                del counters[d]
            text = _wiki_inline(lm.group(2)).strip()
            if marks[-1] == "#":
                counters[depth] = counters.get(depth, 0) + 1
                out.append(f"{indent}{counters[depth]}. {text}")
            else:
                counters.pop(depth, None)
                out.append(f"{indent}- {text}")
            continue
        if line.strip():
            counters.clear()
        out.extend(_wiki_inline(line).split("\n"))
    return _tidy(out)


# --------------------------------------------------------------------------- ADF


def _adf_inline(nodes: list[dict[str, Any]] | None) -> str:
    parts: list[str] = []
    for node in nodes or []:
        if not isinstance(node, dict):
            continue
        t = node.get("type")
        attrs = node.get("attrs") or {}
        if t == "text":
            text = node.get("text", "")
            for mark in node.get("marks") or []:
                if isinstance(mark, dict) and mark.get("type") == "link":
                    href = (mark.get("attrs") or {}).get("href", "")
                    if href and href != text:
                        text = f"{text} ({href})"
            parts.append(text)
        elif t == "hardBreak":
            parts.append("\n")
        elif t == "mention":
            name = attrs.get("text") or attrs.get("id", "")
            parts.append(name if str(name).startswith("@") else f"@{name}")
        elif t == "emoji":
            parts.append(attrs.get("text") or attrs.get("shortName", ""))
        elif t in ("inlineCard", "blockCard", "embedCard"):
            parts.append(attrs.get("url", ""))
        elif t == "status":
            parts.append(attrs.get("text", ""))
        elif t == "date":
            ts = attrs.get("timestamp")
            try:
                parts.append(datetime.fromtimestamp(int(ts) / 1000, tz=timezone.utc).date().isoformat())
            except (TypeError, ValueError):
                parts.append(str(ts or ""))
        elif node.get("content"):
            parts.append(_adf_inline(node["content"]))
    return "".join(parts)


def _adf_blocks(nodes: list[dict[str, Any]] | None, indent: str = "") -> list[str]:
    lines: list[str] = []
    for node in nodes or []:
        if not isinstance(node, dict):
            continue
        block = _adf_block(node, indent)
        if not block:
            continue
        is_list_item = node.get("type") in ("listItem", "taskItem", "decisionItem")
        if lines and not is_list_item:
            lines.append("")
        lines.extend(block)
    return lines


def _adf_list(node: dict[str, Any], indent: str, ordered: bool) -> list[str]:
    lines: list[str] = []
    n = int((node.get("attrs") or {}).get("order", 1) or 1)
    for item in node.get("content") or []:
        if not isinstance(item, dict):
            continue
        marker = f"{n}. " if ordered else "- "
        if item.get("type") == "taskItem":
            done = (item.get("attrs") or {}).get("state") == "DONE"
            marker = "- [x] " if done else "- [ ] "
            lines.append(indent + marker + _adf_inline(item.get("content")).replace("\n", " "))
            n += 1
            continue
        first = True
        for child in item.get("content") or []:
            if not isinstance(child, dict):
                continue
            ctype = child.get("type")
            if ctype in ("bulletList", "orderedList"):
                lines.extend(_adf_list(child, indent + "  ", ctype == "orderedList"))
                continue
            sub = _adf_block(child, indent + "  ")
            if first and sub:
                lines.append(indent + marker + sub[0][len(indent) + 2 :] if sub[0].startswith(indent + "  ") else indent + marker + sub[0].strip())
                lines.extend(sub[1:])
                first = False
            else:
                lines.extend(sub)
        if first:
            lines.append(indent + marker.rstrip())
        n += 1
    return lines


def _adf_block(node: dict[str, Any], indent: str = "") -> list[str]:
    t = node.get("type")
    attrs = node.get("attrs") or {}
    content = node.get("content")
    if t == "doc":
        return _adf_blocks(content, indent)
    if t == "paragraph":
        text = _adf_inline(content)
        return [indent + ln for ln in text.split("\n")] if text.strip() else []
    if t == "heading":
        level = int(attrs.get("level", 1) or 1)
        return [indent + "#" * max(1, min(level, 6)) + " " + _adf_inline(content).replace("\n", " ").strip()]
    if t == "bulletList":
        return _adf_list(node, indent, False)
    if t == "orderedList":
        return _adf_list(node, indent, True)
    if t in ("taskList", "decisionList"):
        return _adf_list(node, indent, False)
    if t == "codeBlock":
        lang = attrs.get("language") or ""
        body = "".join(c.get("text", "") for c in content or [] if isinstance(c, dict))
        return [indent + FENCE + lang, *[indent + ln for ln in body.split("\n")], indent + FENCE]
    if t == "blockquote":
        return [indent + ("> " + ln[len(indent):] if ln.strip() else ">") for ln in _adf_blocks(content, indent)]
    if t == "rule":
        return [indent + "---"]
    if t == "table":
        rows: list[str] = []
        for row in content or []:
            if not isinstance(row, dict):
                continue
            cells = []
            for cell in row.get("content") or []:
                if isinstance(cell, dict):
                    cell_lines = [ln.strip() for ln in _adf_blocks(cell.get("content")) if ln.strip()]
                    cells.append(" ".join(cell_lines))
            rows.append(indent + " | ".join(cells))
        return rows
    if t in ("panel", "expand", "nestedExpand", "layoutSection", "layoutColumn", "bodiedExtension"):
        title = attrs.get("title")
        body = _adf_blocks(content, indent)
        return ([indent + title] if title else []) + body
    if t in ("mediaSingle", "mediaGroup", "media", "extension"):
        return []
    if t in ("blockCard", "embedCard"):
        return [indent + attrs.get("url", "")] if attrs.get("url") else []
    if t == "text" or t in ("mention", "emoji", "inlineCard", "hardBreak", "status", "date"):
        text = _adf_inline([node])
        return [indent + text] if text.strip() else []
    if content:
        if all(isinstance(c, dict) and c.get("type") in ("text", "mention", "emoji", "hardBreak", "inlineCard") for c in content):
            text = _adf_inline(content)
            return [indent + ln for ln in text.split("\n")] if text.strip() else []
        return _adf_blocks(content, indent)
    return []


def adf_to_text(doc: dict[str, Any] | None) -> str:
    """Convert an Atlassian Document Format tree (a dict) to structured plain text."""
    if not doc:
        return ""
    if not isinstance(doc, dict):
        raise CasewrightError(
            f"An Atlassian Document Format value must be a JSON object, not {type(doc).__name__}; "
            "pass the field's 'doc' object as returned by Jira REST v3."
        )
    return _tidy(_adf_block(doc))


# --------------------------------------------------------------------------- Confluence storage

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


# --------------------------------------------------------------------------- dispatch

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
    return stripped

"""Jira wiki markup (REST v2 descriptions and custom fields) to structured plain text."""

from __future__ import annotations

import re

from connectors.markup.tidy import FENCE, _tidy

__all__ = ["wiki_to_text"]

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
    """'||a||b||' or '|a|b|' -> 'a | b'; an escaped '\\|' stays inside its cell (still escaped)."""
    body = line.strip()
    body = re.sub(r"^\|\|?", "", body)
    body = re.sub(r"(?<!\\)\|\|?$", "", body)
    cells = re.split(r"(?<!\\)\|\|?", body)
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
    """Convert Jira wiki markup to structured plain text (see the `connectors.markup` docstring)."""
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

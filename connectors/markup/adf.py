"""Atlassian Document Format (the JSON tree of Jira REST v3) to structured plain text."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from connectors.errors import CasewrightError
from connectors.markup.tidy import FENCE, _tidy

__all__ = ["adf_to_text"]

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
    n = _int((node.get("attrs") or {}).get("order"), 1)
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
        level = _int(attrs.get("level"), 1)
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


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError, OverflowError):
        return default


def _scalar(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _sane(node: Any) -> dict[str, Any] | None:
    """The node with the shape the converter expects: text and attrs as strings, content as a list of nodes.

    Jira only produces well-formed trees, but a pasted or hand-written value may hold a number where
    text belongs or a string where a list belongs; such parts are read as text or left out, never a crash.
    """
    if not isinstance(node, dict):
        return None
    out: dict[str, Any] = {"type": _scalar(node.get("type"))}
    if "text" in node:
        out["text"] = _scalar(node.get("text"))
    attrs = node.get("attrs")
    if isinstance(attrs, dict):
        out["attrs"] = {str(k): _scalar(v) for k, v in attrs.items()}  # numbers are read back with _int
    marks = node.get("marks")
    if isinstance(marks, list):
        out["marks"] = [m for m in (_sane(x) for x in marks) if m]
    content = node.get("content")
    if isinstance(content, list):
        out["content"] = [c for c in (_sane(x) for x in content) if c]
    return out


def adf_to_text(doc: dict[str, Any] | None) -> str:
    """Convert an Atlassian Document Format tree (a dict) to structured plain text."""
    if not doc:
        return ""
    if not isinstance(doc, dict):
        raise CasewrightError(
            f"An Atlassian Document Format value must be a JSON object, not {type(doc).__name__}; "
            "pass the field's 'doc' object as returned by Jira REST v3."
        )
    return _tidy(_adf_block(_sane(doc) or {}))

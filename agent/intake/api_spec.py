"""The REST request a story specifies: its endpoint and its parameters.

LAJ-style API tickets have "HTTP Request", "Path/Query/Header/Form Parameters" and "Request Body"
sections; these are not criteria. :func:`parse_parameters` turns them into
:class:`~agent.models.Parameter` objects and :func:`parse_endpoint` reads
``GET {{baseUrl}}/1.0/kb/...`` (or a ``[GET /1.0/...]`` title) into a ``(method, path)`` pair.
"""

from __future__ import annotations

import re
from typing import Any

from agent.intake.sections import _BULLET, _FENCE, _clean, _heading
from agent.models import Parameter
from connectors.markup import to_text

__all__ = ["parse_parameters", "parse_endpoint"]

# --------------------------------------------------------------------------- parameters and endpoint

_PARAM_SECTION = re.compile(r"^(path|query|header|form|cookie|body|request|url)\s+param(eter)?s?$", re.I)
_BODY_SECTION = re.compile(r"^(request body|body|request payload|payload)$", re.I)
_ANY_PARAM_SECTION = re.compile(r"^(request )?param(eter)?s$|^inputs?$|^fields$", re.I)
_PARAM_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+`([^`]+)`\s*(?:\(((?:`[^`]*`|[^`)])*)\))?\s*:?\s*(.*)$")
_PARAM_LOOSE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\**([A-Za-z_$][\w.\-\[\]]*)\**\s*(?:\(([^)]*)\))?\s*[:\u2013\u2014-]\s*(.*)$")
_REQUIRED = re.compile(r"\b(?:required|mandatory)\s*[:=]\s*(true|false|yes|no)\b\.?", re.I)


def _truthy(v: str) -> bool:
    return v.strip().lower() in ("true", "yes", "y", "x", "required", "mandatory", "\u2713", "\u2714", "1")


def _split_outside_backticks(spec: str) -> list[str]:
    parts, buf, inside = [], [], False
    for ch in spec:
        if ch == "`":
            inside = not inside
        if ch == "," and not inside:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts]


def _param_from_bullet(name: str, spec: str, desc: str, location: str) -> Parameter:
    spec = spec or ""
    ptype, fmt, pattern, default = "", None, None, None
    enum: list[str] = []
    head = _split_outside_backticks(spec)[0] if spec else ""
    head_plain = head.replace("`", "").strip()
    am = re.match(r"array\s+of\s+(\w+)(?:\s+with\s+format\s+(\S+))?", head_plain, re.I)
    if am:
        ptype = f"array[{am.group(1)}]"
        fmt = am.group(2)
    elif head_plain and ":" not in head_plain and head_plain.lower() not in ("required", "optional", "mandatory"):
        ptype = head_plain.split()[0]
    for key, val in re.findall(r"(\w+)\s*:\s*`([^`]*)`", spec) + re.findall(r"(\w+)\s*[:=]\s*([^,`()]+?)\s*(?:,|$)", spec.replace("`", "\x02")):
        val = val.strip()
        k = key.lower()
        if "\x02" in val:
            continue
        if k == "format" and fmt is None:
            fmt = val
        elif k == "pattern" and pattern is None:
            pattern = val
        elif k == "default" and default is None:
            default = val
        elif k == "enum" and not enum:
            enum = [e.strip().strip("'\"") for e in val.strip("[]").split(",") if e.strip()]
        elif k == "type" and not ptype:
            ptype = val
    required = False
    rm = _REQUIRED.search(desc) or _REQUIRED.search(spec)
    if rm:
        required = _truthy(rm.group(1))
    elif re.search(r"\b(required|mandatory)\b", spec, re.I) and not re.search(r"\bnot required\b", spec, re.I):
        required = True
    elif re.search(r"^\s*\(?(required|mandatory)\b", desc, re.I):
        required = True
    desc_clean = _REQUIRED.sub("", desc)
    desc_clean = _clean(re.sub(r"\s+", " ", desc_clean)).strip()
    return Parameter(
        name=name.strip(), location=location, type=ptype, required=required, enum=enum,
        default=default, format=fmt, pattern=pattern, description=desc_clean,
    )


def _table_params(rows: list[str], location: str) -> list[Parameter]:
    if len(rows) < 2:
        return []
    header = [c.strip().lower() for c in rows[0].strip().strip("|").split("|")]

    def col(*names: str) -> int | None:
        for i, h in enumerate(header):
            if any(n in h for n in names):
                return i
        return None

    ci_name = col("name", "parameter", "field")
    if ci_name is None:
        return []
    ci_type, ci_req, ci_desc = col("type"), col("required", "mandatory"), col("description", "notes", "meaning")
    ci_loc, ci_def, ci_enum = col("location", "in"), col("default"), col("allowed", "values", "enum")
    out = []
    for row in rows[1:]:
        if re.fullmatch(r"[\s|:\-]+", row):
            continue
        cells = [c.strip() for c in row.strip().strip("|").split("|")]

        def get(i: int | None) -> str:
            return _clean(cells[i]) if i is not None and i < len(cells) else ""

        name = get(ci_name)
        if not name:
            continue
        enum_raw = get(ci_enum)
        out.append(Parameter(
            name=name, location=get(ci_loc).lower() or location, type=get(ci_type),
            required=_truthy(get(ci_req)), description=get(ci_desc), default=get(ci_def) or None,
            enum=[e.strip() for e in re.split(r"[,/]", enum_raw.strip("[]")) if e.strip()] if enum_raw else [],
        ))
    return out


def parse_parameters(text: Any) -> list[Parameter]:
    """Parameters named in the request sections of a story ("Path Parameters", "Request Body"...).

    Bullets like ``- `accountId` (`string`, format: `uuid`): The ID. Required: true.`` and tables
    with Name / Type / Required columns are understood. The request body becomes one parameter
    named ``body`` (location ``body``) unless the section says N/A.
    """
    plain = to_text(text)
    params: list[Parameter] = []
    seen: set[tuple[str, str]] = set()
    location: str | None = None
    body_lines: list[str] | None = None
    table: list[str] = []
    in_code = False

    def add(p: Parameter) -> None:
        key = (p.name, p.location)
        if key not in seen:
            seen.add(key)
            params.append(p)

    def flush_table() -> None:
        nonlocal table
        if table and location is not None:
            for p in _table_params(table, location):
                add(p)
        table = []

    def flush_body() -> None:
        nonlocal body_lines
        if body_lines is not None:
            p = _body_param(body_lines)
            if p is not None:
                add(p)
        body_lines = None

    for line in plain.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            if body_lines is not None:
                body_lines.append(line)
            continue
        h = None if in_code else _heading(line)
        if h is not None:
            flush_table()
            flush_body()
            title = h[1]
            pm = _PARAM_SECTION.match(title)
            if pm:
                loc = pm.group(1).lower()
                location = {"request": "", "url": "path"}.get(loc, loc)
            elif _BODY_SECTION.match(title):
                location, body_lines = None, []
            elif _ANY_PARAM_SECTION.match(title):
                location = ""
            else:
                location = None
            continue
        if body_lines is not None:
            body_lines.append(line)
            continue
        if location is None or in_code:
            continue
        if line.strip().startswith("|") or (line.count("|") >= 2 and not _BULLET.match(line)):
            table.append(line)
            continue
        flush_table()
        m = _PARAM_BULLET.match(line)
        if m:
            add(_param_from_bullet(m.group(1), m.group(2) or "", m.group(3) or "", location))
            continue
        m = _PARAM_LOOSE.match(line)
        if m:
            add(_param_from_bullet(m.group(1), m.group(2) or "", m.group(3) or "", location))
    flush_table()
    flush_body()
    return params


def _body_param(lines: list[str]) -> Parameter | None:
    content = [ln for ln in lines if ln.strip()]
    if not content or re.match(r"^\s*(n/?a|none|no body|-)\b", content[0], re.I):
        return None
    required = False
    consumes = ""
    schema: list[str] = []
    in_code = False
    for ln in content:
        if _FENCE.match(ln):
            in_code = not in_code
            continue
        if in_code:
            continue
        body = _BULLET.match(ln).group(3) if _BULLET.match(ln) else ln.strip()
        m = re.match(r"^(consumes|content[- ]type|media type)\s*:\s*(.+)$", body, re.I)
        if m:
            consumes = _clean(m.group(2))
            continue
        m = re.match(r"^(required|mandatory)\s*:\s*(\w+)", body, re.I)
        if m:
            required = _truthy(m.group(2))
            continue
        m = re.match(r"^schema\s*:\s*(.*)$", body, re.I)
        if m:
            schema.append(_clean(m.group(1)))
            continue
        if re.match(r"^example\s*:?\s*$", body, re.I):
            continue
        schema.append(_clean(body))
    return Parameter(name="body", location="body", type=consumes, required=required, description=" ".join(s for s in schema if s))


_ENDPOINT = re.compile(
    r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+`?((?:\{\{[^}\s]+\}\}|\$\{[^}\s]+\}|https?://[^\s/`]+|<[^>\s]+>"
    r"|\w*(?:[Uu]rl|URL|[Hh]ost|[Bb]ase)\w*)?/[^\s`'\"\]\)]*)"
)


def parse_endpoint(text: Any, title: str = "") -> tuple[str, str] | None:
    """``(method, path)`` of the REST endpoint a story specifies, from its text or else its title."""
    raw = text if isinstance(text, str) else ""
    for source in (raw, to_text(text), title or ""):
        m = _ENDPOINT.search(source)
        if m:
            path = re.sub(r"^(\{\{[^}]+\}\}|\$\{[^}]+\}|https?://[^/]+|<[^>]+>|\w+(?=/))", "", m.group(2))
            path = path.rstrip(".,;:")
            if path:
                return m.group(1), path
    return None

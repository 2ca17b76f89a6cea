"""Structure-respecting chunks for the knowledge base.

A chunk is the unit that is embedded, stored and retrieved:

* a story: its summary and description (`story`)
* each acceptance criterion on its own (`criterion`)
* a Confluence page, one chunk per heading section, with the heading path kept
  (`page_section`); tables stay whole, long sections split only between paragraphs
* each approved test case whole (`test_case`)

The helpers take plain dicts (already-parsed stories, criteria, pages and cases, e.g. from
`model_dump()`), so this module needs nothing from the agent layer. Page text is expected in
the shape `connectors.markup` produces (Markdown '#' headings, table rows as `a | b | c`); raw
Confluence storage XHTML is converted with `storage_to_text` first.

Every chunk carries a content hash of exactly what is embedded, and a metadata hash of the rest
of its payload, so a sync can tell "re-embed", "rewrite the payload" and "leave alone" apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from connectors.markup import storage_to_text

KINDS = ("story", "criterion", "page_section", "test_case")
MAX_SECTION_CHARS = 1200  # about the 256-token window of MiniLM-sized models
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = "```"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


@dataclass(frozen=True)
class Chunk:
    id: str
    kind: str
    source_id: str
    title: str
    text: str
    title_path: tuple[str, ...] = ()
    project: str = ""
    epic: str = ""
    labels: tuple[str, ...] = ()
    updated: str = ""
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    source_hash: str = field(default="", compare=False)
    """Fingerprint of the raw source object the chunk came from: lets a sync skip re-parsing
    sources that did not change. Not part of content_hash or meta_hash."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown chunk kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    @property
    def embed_text(self) -> str:
        """What the embedding model and BM25 see: the heading path, then the text."""
        head = " > ".join(p for p in self.title_path if p) or self.title
        return f"{head}\n{self.text}" if head else self.text

    @property
    def content_hash(self) -> str:
        return _sha(self.kind + "\x00" + self.embed_text)

    @property
    def meta_hash(self) -> str:
        meta = [self.source_id, self.title, list(self.title_path), self.project, self.epic,
                list(self.labels), self.updated, self.url, self.extra]
        return _sha(json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str))

    def payload(self) -> dict[str, Any]:
        body = {
            "chunk_id": self.id,
            "kind": self.kind,
            "source_id": self.source_id,
            "project": self.project,
            "epic": self.epic,
            "labels": list(self.labels),
            "title": self.title,
            "title_path": list(self.title_path),
            "updated": self.updated,
            "content_hash": self.content_hash,
            "meta_hash": self.meta_hash,
            "url": self.url,
            "text": self.text,
        }
        if self.extra:
            body["extra"] = self.extra
        if self.source_hash:
            body["source_hash"] = self.source_hash
        return body

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "Chunk":
        return cls(
            id=payload["chunk_id"], kind=payload["kind"], source_id=payload.get("source_id", ""),
            title=payload.get("title", ""), text=payload.get("text", ""),
            title_path=tuple(payload.get("title_path") or ()), project=payload.get("project", ""),
            epic=payload.get("epic", ""), labels=tuple(payload.get("labels") or ()),
            updated=payload.get("updated", ""), url=payload.get("url", ""),
            extra=payload.get("extra") or {}, source_hash=payload.get("source_hash", ""),
        )


def _s(value: Any) -> str:
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- stories and criteria

def story_chunk(story: dict[str, Any]) -> Chunk:
    """A story: summary and description. `story` has key, summary, description, project, epic_key..."""
    key = story["key"]
    summary = _s(story.get("summary")).strip()
    description = _s(story.get("description")).strip()
    text = summary + ("\n\n" + description if description else "")
    title = f"{key} {summary}".strip()
    return Chunk(
        id=key, kind="story", source_id=key, title=title, text=text, title_path=(title,),
        project=_s(story.get("project")) or key.split("-")[0], epic=_s(story.get("epic_key")),
        labels=tuple(story.get("labels") or ()), updated=_s(story.get("updated")), url=_s(story.get("url")),
    )


def criterion_chunks(story: dict[str, Any], criteria: Iterable[dict[str, Any]]) -> list[Chunk]:
    """One chunk per acceptance criterion (dicts with id, text, section)."""
    key = story["key"]
    story_title = f"{key} {_s(story.get('summary')).strip()}".strip()
    out = []
    for c in criteria:
        text = _s(c.get("text")).strip()
        if not text:
            continue
        section = _s(c.get("section")).strip()
        out.append(Chunk(
            id=c["id"], kind="criterion", source_id=key, title=f"{c['id']}",
            text=text, title_path=tuple(p for p in (story_title, section) if p),
            project=_s(story.get("project")) or key.split("-")[0], epic=_s(story.get("epic_key")),
            labels=tuple(story.get("labels") or ()), updated=_s(story.get("updated")), url=_s(story.get("url")),
        ))
    return out


# --------------------------------------------------------------------------- Confluence pages

def _is_table_line(line: str) -> bool:
    return " | " in line or (line.startswith("|") and line.rstrip().endswith("|"))


def _blocks(lines: list[str]) -> list[str]:
    """Paragraph-level blocks: blank lines separate them; a run of table rows or a fenced code
    block is always one block, whatever its size."""
    blocks: list[list[str]] = []
    current: list[str] = []
    mode = ""  # "", "table", "code"

    def close() -> None:
        nonlocal current, mode
        if current:
            blocks.append(current)
        current, mode = [], ""

    for line in lines:
        if mode == "code":
            current.append(line)
            if line.strip().startswith(_FENCE):
                close()
            continue
        if line.strip().startswith(_FENCE):
            close()
            current, mode = [line], "code"
            continue
        if not line.strip():
            if mode != "table":
                close()
            continue
        table = _is_table_line(line)
        if table and mode != "table":
            close()
            mode = "table"
        elif not table and mode == "table":
            close()
        current.append(line)
    close()
    return ["\n".join(b).strip("\n") for b in blocks if any(x.strip() for x in b)]


def _pack(blocks: list[str], limit: int) -> list[str]:
    """Group consecutive blocks into parts of at most `limit` characters (a bigger block stays whole)."""
    parts: list[str] = []
    current = ""
    for block in blocks:
        if current and len(current) + 2 + len(block) > limit:
            parts.append(current)
            current = block
        else:
            current = f"{current}\n\n{block}" if current else block
    if current:
        parts.append(current)
    return parts


def split_sections(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Split Markdown-ish text at headings: [(heading path below the page title, body lines)].
    Headings inside fenced code are not headings."""
    sections: list[tuple[tuple[str, ...], list[str]]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    in_code = False

    def flush() -> None:
        if any(line.strip() for line in body):
            sections.append((tuple(h for _, h in stack), list(body)))

    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip().startswith(_FENCE):
            in_code = not in_code
        m = None if in_code else _HEADING.match(line)
        if m:
            flush()
            body = []
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, m.group(2).strip()))
        else:
            body.append(line)
    flush()
    return sections


def page_chunks(page: dict[str, Any], *, max_chars: int = MAX_SECTION_CHARS) -> list[Chunk]:
    """A Confluence page split by heading. `page` has id, title, space, labels, url, updated and
    either `text` (converted) or a raw `body.storage.value`."""
    pid = str(page["id"])
    title = _s(page.get("title")).strip()
    text = page.get("text")
    if text is None:
        storage = (((page.get("body") or {}).get("storage") or {}).get("value")) or ""
        text = storage_to_text(storage)
    space = page.get("space")
    if isinstance(space, dict):
        space = space.get("key")
    project = _s(page.get("project") or space)
    labels = tuple(page.get("labels") or ())
    out: list[Chunk] = []
    used: dict[str, int] = {}
    for path, lines in split_sections(_s(text)):
        slug = slugify("-".join(path)) if path else "intro"
        used[slug] = used.get(slug, 0) + 1
        if used[slug] > 1:
            slug = f"{slug}-{used[slug]}"
        parts = _pack(_blocks(lines), max_chars)
        for n, part in enumerate(parts, start=1):
            suffix = f"~{n}" if len(parts) > 1 else ""
            out.append(Chunk(
                id=f"page:{pid}#{slug}{suffix}", kind="page_section", source_id=pid,
                title=" > ".join((title,) + path), text=part, title_path=(title,) + path,
                project=project, epic="", labels=labels, updated=_s(page.get("updated")),
                url=_s(page.get("url")),
            ))
    return out


# --------------------------------------------------------------------------- approved test cases

def case_text(case: dict[str, Any]) -> str:
    """An approved case as one readable text: title, objective, persona, preconditions, data, steps."""
    lines = [_s(case.get("title")).strip()]
    if case.get("objective"):
        lines.append(f"Objective: {case['objective']}")
    if case.get("persona"):
        lines.append(f"Persona: {case['persona']}")
    pre = case.get("preconditions") or []
    if pre:
        lines.append("Preconditions:")
        lines += [f"- {p}" for p in pre]
    data = case.get("test_data") or {}
    if data:
        lines.append("Test data:")
        lines += [f"- {k}: {v}" for k, v in data.items()]
    steps = case.get("steps") or []
    if steps:
        lines.append("Steps:")
        for n, step in enumerate(steps, start=1):
            data_part = f" [{step.get('data')}]" if step.get("data") else ""
            lines.append(f"{n}. {step.get('action', '')}{data_part} -> {step.get('expected', '')}")
    return "\n".join(line for line in lines if line)


def approved_case_chunk(case: dict[str, Any], *, project: str = "", epic: str = "", url: str = "",
                    updated: str = "") -> Chunk:
    """An approved test case, whole. `case` is a UATCase dict (id, title, persona, steps...)."""
    cid = _s(case["id"])
    title = f"{cid} {_s(case.get('title')).strip()}".strip()
    story_key = _s(case.get("story_key"))
    return Chunk(
        id=cid, kind="test_case", source_id=cid, title=title, text=case_text(case),
        title_path=(title,), project=project or cid.split("-")[0], epic=epic,
        labels=tuple(case.get("labels") or ()), updated=updated, url=url,
        extra={
            "story_key": story_key,
            "criterion_ids": list(case.get("criterion_ids") or []),
            "persona": _s(case.get("persona")),
            "preconditions": list(case.get("preconditions") or []),
            "test_data": dict(case.get("test_data") or {}),
            "case_kind": _s(case.get("kind")),
        },
    )

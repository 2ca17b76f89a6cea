"""Checkpoints that grow with the run, not with every step times the input.

LangGraph's SQLite saver writes the whole state at every step (and every branch's input with its
writes), so a story with a 20 MB description was written dozens of times. `TextOnceSerializer`
wraps the saver's serializer: each string of at least `LARGE_TEXT` characters is stored once, by
its SHA-256, in the side table `casewright_texts` of the same database, and the checkpoint holds
a short reference (still a string, so every model accepts it); reading a checkpoint puts the
text back. `drop_unused_texts` removes texts no checkpoint or write refers to any more."""

from __future__ import annotations

import codecs
import hashlib
import re
import sqlite3
import threading
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.types import Send
from pydantic import BaseModel

from agent.checkpoint_store import BLOBS

LARGE_TEXT = 32_768
"""Strings of at least this many characters are stored once, by hash."""
_REF = "\x00casewright-text:sha256:"
_REF_BYTES = _REF.encode()
_TABLE = "casewright_texts"
_LONG_STR_HEADER = re.compile(rb"\xda[\x80-\xff].|\xdb[\x00-\xff]{4}", re.S)
"""msgpack's str16 header with a length of 32,768 bytes or more, and every str32 header."""


_SAMPLE = 256
"""Bytes of a candidate string checked as UTF-8 (a false candidate only costs the walk)."""


def _may_hold_large_text(kind: str, raw: Any) -> bool:
    """Whether a serialized value may contain a string of LARGE_TEXT characters or more. A msgpack
    payload can only if it has a str16/str32 header announcing that many bytes, starting with valid
    UTF-8 (a header-like byte pair inside other data seldom is, and then the walk only costs time);
    anything else is walked if it is long."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) < LARGE_TEXT:
        return False
    if kind != "msgpack":
        return True
    for m in _LONG_STR_HEADER.finditer(raw):
        start = m.end()
        length = int.from_bytes(raw[m.start() + 1:start], "big")
        if length < LARGE_TEXT or start + length > len(raw):
            continue
        try:  # the start of a real string is UTF-8 (a character cut at the end of the sample is fine)
            codecs.getincrementaldecoder("utf-8")("surrogatepass").decode(raw[start:start + _SAMPLE], final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


class TextOnceSerializer(SerializerProtocol):
    def __init__(self, inner: SerializerProtocol, conn: sqlite3.Connection) -> None:
        self.inner = inner
        self.conn = conn
        self._lock = threading.Lock()
        self._hashes: dict[int, tuple[str, str]] = {}  # id(text) -> (text, digest): a text is hashed once
        self._texts: dict[str, str] = {}                # digest -> text, read or written by this process
        conn.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (digest TEXT PRIMARY KEY, text TEXT NOT NULL)")
        conn.commit()

    # -- SerializerProtocol --------------------------------------------------------------------------
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        typed = self.inner.dumps_typed(obj)
        if not _may_hold_large_text(*typed):
            return typed  # the usual case: no walk over the state (a 1,000-story state has 10^6 objects)
        return self.inner.dumps_typed(self._out(obj))

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        value = self.inner.loads_typed(data)
        kind, raw = data
        if kind == "msgpack" and isinstance(raw, (bytes, bytearray)) and _REF_BYTES not in raw:
            return value  # refers to no stored text
        return self._in(value)

    # -- large strings out and back in ---------------------------------------------------------------
    def _store(self, text: str) -> str:
        with self._lock:
            known = self._hashes.get(id(text))
            if known is not None and known[0] is text:
                return _REF + known[1]
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            self._hashes[id(text)] = (text, digest)
            if digest not in self._texts:
                self.conn.execute(f"INSERT OR IGNORE INTO {_TABLE} (digest, text) VALUES (?, ?)", (digest, text))
                self._texts[digest] = text
        return _REF + digest

    def _load(self, ref: str) -> str:
        digest = ref[len(_REF):]
        with self._lock:
            if digest not in self._texts:
                row = self.conn.execute(f"SELECT text FROM {_TABLE} WHERE digest = ?", (digest,)).fetchone()
                if row is None:
                    raise LookupError(f"checkpoint text {digest[:12]} is missing from {_TABLE}")
                self._texts[digest] = row[0]
            return self._texts[digest]

    def _out(self, obj: Any) -> Any:
        return _walk(obj, lambda s: self._store(s) if len(s) >= LARGE_TEXT else s)

    def _in(self, obj: Any) -> Any:
        return _walk(obj, lambda s: self._load(s) if s.startswith(_REF) else s)


def _walk(obj: Any, swap: Any) -> Any:
    """`obj` with `swap` applied to every string inside it (dicts, lists, tuples, pydantic models,
    LangGraph Sends); containers are copied only where something changed, never mutated."""
    if isinstance(obj, str):
        return swap(obj)
    if isinstance(obj, dict):
        items = {k: _walk(v, swap) for k, v in obj.items()}
        return obj if all(items[k] is obj[k] for k in obj) else type(obj)(items) if type(obj) is not dict else items
    if isinstance(obj, list):
        items = [_walk(v, swap) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else items
    if isinstance(obj, tuple):
        items = [_walk(v, swap) for v in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, BaseModel):
        changed = {}
        for name in type(obj).model_fields:
            value = getattr(obj, name, None)
            new = _walk(value, swap)
            if new is not value:
                changed[name] = new
        return obj.model_copy(update=changed) if changed else obj
    if isinstance(obj, Send):
        arg = _walk(obj.arg, swap)
        return obj if arg is obj.arg else Send(obj.node, arg)
    return obj


def drop_unused_texts(conn: sqlite3.Connection) -> None:
    """Delete stored texts that no checkpoint, channel value or write refers to (after a finished
    run is pruned)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (digest TEXT PRIMARY KEY, text TEXT NOT NULL)")
    conn.execute(
        f"DELETE FROM {_TABLE} WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE instr(checkpoint, CAST(digest AS BLOB)) > 0)"
        f" AND NOT EXISTS (SELECT 1 FROM {BLOBS} WHERE instr(blob, CAST(digest AS BLOB)) > 0)"
        f" AND NOT EXISTS (SELECT 1 FROM writes WHERE instr(value, CAST(digest AS BLOB)) > 0)")

"""A CQL subset for the emulator's Confluence search: space, label, title, ancestor, parent,
type, id with =, !=, ~ (title contains), in (...); AND, OR, NOT, parentheses. Anything else
raises CqlError (answered with Confluence's 400 shape)."""

from __future__ import annotations

from typing import Any, Callable

from connectors.emulators.atlassian.jql import JqlError, Tok, tokenize

Predicate = Callable[[dict[str, Any]], bool]


class CqlError(ValueError):
    pass


def _labels(page: dict[str, Any]) -> list[str]:
    results = (((page.get("metadata") or {}).get("labels") or {}).get("results")) or []
    return [str(r.get("name", "")) for r in results]


def _ancestors(page: dict[str, Any]) -> list[str]:
    return [str(a.get("id")) for a in page.get("ancestors") or []]


_GETTERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "space": lambda p: [str((p.get("space") or {}).get("key", ""))],
    "label": _labels,
    "title": lambda p: [str(p.get("title", ""))],
    "ancestor": _ancestors,
    "parent": lambda p: _ancestors(p)[-1:],
    "type": lambda p: [str(p.get("type", "page"))],
    "id": lambda p: [str(p.get("id"))],
    "content": lambda p: [str(p.get("id"))],
}


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise CqlError("Could not parse cql: the query ended unexpectedly")
        self.i += 1
        return tok

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.low in words

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.at("order"):
            # ORDER BY is accepted and ignored beyond title ordering done by the caller
            self.i = len(self.toks)
        if self.peek() is not None:
            raise CqlError(f"Could not parse cql: unexpected '{self.peek().text}'")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda p: any(x(p) for x in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.at("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda p: all(x(p) for x in parts))

    def unary(self) -> Predicate:
        if self.at("not"):
            self.take()
            inner = self.unary()
            return lambda p: not inner(p)
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.or_expr()
            if self.take().text != ")":
                raise CqlError("Could not parse cql: expecting ')'")
            return inner
        return self.clause()

    def value(self) -> str:
        tok = self.take()
        if tok.kind == "op":
            raise CqlError(f"Could not parse cql: expecting a value but got '{tok.text}'")
        return tok.text

    def clause(self) -> Predicate:
        name = self.take()
        field = name.text.lower()
        if field not in _GETTERS:
            raise CqlError(f"Could not parse cql: the field '{name.text}' is not supported by this Confluence emulator")
        getter = _GETTERS[field]
        op = self.take()
        if op.kind == "word" and op.low in ("in", "not"):
            negate = op.low == "not"
            if negate:
                if not self.at("in"):
                    raise CqlError("Could not parse cql: expecting IN after NOT")
                self.take()
            if self.take().text != "(":
                raise CqlError("Could not parse cql: expecting '(' after IN")
            values = [self.value()]
            while (t := self.take()).text != ")":
                if t.text != ",":
                    raise CqlError("Could not parse cql: expecting ',' or ')'")
                values.append(self.value())
            wanted = {v.lower() for v in values}
            hit = lambda p: bool({v.lower() for v in getter(p)} & wanted)  # noqa: E731
            return (lambda p: not hit(p)) if negate else hit
        if op.kind != "op" or op.text not in ("=", "!=", "~", "!~"):
            raise CqlError(f"Could not parse cql: operator '{op.text}' is not supported")
        value = self.value().lower()
        if op.text in ("~", "!~"):
            if field != "title":
                raise CqlError("Could not parse cql: '~' is supported for title only")
            hit = lambda p: any(value in v.lower() for v in getter(p))  # noqa: E731
        else:
            hit = lambda p: value in {v.lower() for v in getter(p)}  # noqa: E731
        return (lambda p: not hit(p)) if op.text.startswith("!") else hit


def compile_cql(text: str) -> Predicate:
    if not (text or "").strip():
        raise CqlError("Could not parse cql: the cql parameter is required")
    try:
        return _Parser(tokenize(text)).parse()
    except JqlError as exc:
        raise CqlError(f"Could not parse cql: {exc}") from None

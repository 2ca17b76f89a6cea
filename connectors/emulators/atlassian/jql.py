"""A JQL subset for the emulator: what casewright (and a person trying the sandbox) sends.

Supported: fields project, key/issuekey, id, parent, "Epic Link" (or cf[N] / customfield_N),
issuetype/type, labels, status, summary, updated, created; operators =, !=, in, not in, >=, >,
<=, <, is EMPTY / is not EMPTY; AND, OR, NOT, parentheses; ORDER BY field [ASC|DESC], ...
Anything else raises JqlError, which the app answers with Jira's 400 error shape rather than a
wrong result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from connectors.jira_time import parse_jira_timestamp

Predicate = Callable[[dict[str, Any]], bool]


class JqlError(ValueError):
    """The query uses something the emulator does not support (or is malformed)."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>!=|>=|<=|!~|=|>|<|~|\(|\)|,)
    | (?P<word>[^\s"'=!<>~(),]+)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


@dataclass
class Tok:
    kind: str  # str | op | word
    text: str

    @property
    def low(self) -> str:
        return self.text.lower() if self.kind == "word" else self.text


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}: {text[pos:pos+10]!r}")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            out.append(Tok("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            out.append(Tok("op", m.group("op")))
        else:
            out.append(Tok("word", m.group("word")))
    return out


@dataclass
class Query:
    predicate: Predicate
    order_by: list[tuple[str, bool]]  # (field, descending)


class _Parser:
    def __init__(self, tokens: list[Tok], resolver: "FieldResolver") -> None:
        self.toks = tokens
        self.i = 0
        self.resolver = resolver

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.low in words

    def parse(self) -> Query:
        pred: Predicate = lambda issue: True  # noqa: E731
        if self.peek() is not None and not self.at_word("order"):
            pred = self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.at_word("order"):
            self.take()
            if not self.at_word("by"):
                raise JqlError("Error in the JQL Query: expecting 'by' after 'order'.")
            self.take()
            while True:
                field = self.field_name()
                desc = False
                if self.at_word("asc", "desc"):
                    desc = self.take().low == "desc"
                order.append((field, desc))
                tok = self.peek()
                if tok is not None and tok.kind == "op" and tok.text == ",":
                    self.take()
                    continue
                break
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek().text}'.")
        return Query(pred, order)

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.at_word("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def not_expr(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            inner = self.not_expr()
            return lambda issue: not inner(issue)
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.or_expr()
            close = self.take()
            if close.text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
            return inner
        return self.clause()

    def field_name(self) -> str:
        tok = self.take()
        if tok.kind == "op":
            raise JqlError(f"Error in the JQL Query: expecting a field name but got '{tok.text}'.")
        name = tok.text
        # cf[10014] is tokenised as one word
        return name

    def value(self) -> str:
        tok = self.take()
        if tok.kind == "op":
            raise JqlError(f"Error in the JQL Query: expecting a value but got '{tok.text}'.")
        nxt = self.peek()
        if tok.kind == "word" and nxt is not None and nxt.kind == "op" and nxt.text == "(":
            raise JqlError(
                f"Error in the JQL Query: the function '{tok.text}()' is not supported by this Jira emulator."
            )
        return tok.text

    def clause(self) -> Predicate:
        field = self.field_name()
        getter, kind = self.resolver.resolve(field)
        tok = self.take()
        if tok.kind == "word" and tok.low == "is":
            negate = False
            if self.at_word("not"):
                self.take()
                negate = True
            if not self.at_word("empty", "null"):
                raise JqlError("Error in the JQL Query: expecting EMPTY after IS.")
            self.take()
            return lambda issue: (not getter(issue)) != negate
        if tok.kind == "word" and tok.low in ("in", "not"):
            negate = tok.low == "not"
            if negate:
                if not self.at_word("in"):
                    raise JqlError("Error in the JQL Query: expecting IN after NOT.")
                self.take()
            opener = self.take()
            if opener.text != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after IN.")
            values = [self.value()]
            while True:
                t = self.take()
                if t.text == ")":
                    break
                if t.text != ",":
                    raise JqlError("Error in the JQL Query: expecting ',' or ')' in the IN list.")
                values.append(self.value())
            match = _matcher(kind, "=", values, field)
            return (lambda issue: not match(getter(issue))) if negate else (lambda issue: match(getter(issue)))
        if tok.kind != "op" or tok.text not in ("=", "!=", ">=", ">", "<=", "<"):
            raise JqlError(
                f"Error in the JQL Query: the operator '{tok.text}' is not supported by this Jira emulator."
            )
        value = self.value()
        if tok.text == "!=":
            match = _matcher(kind, "=", [value], field)
            return lambda issue: not match(getter(issue))
        match = _matcher(kind, tok.text, [value], field)
        return lambda issue: match(getter(issue))


def _key_tuple(key: str) -> tuple[str, int]:
    proj, _, num = key.rpartition("-")
    return (proj, int(num)) if num.isdigit() else (key, 0)


def parse_jql_datetime(value: str, now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    v = value.strip()
    rel = re.fullmatch(r"([-+]?)(\d+)([wdhm])", v)
    if rel:
        sign = -1 if rel.group(1) == "-" else 1
        amount = int(rel.group(2))
        unit = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
        return now + sign * amount * unit[rel.group(3)]
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(v, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raise JqlError(f"Date value '{value}' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d'.")


def _matcher(kind: str, op: str, values: list[str], field: str) -> Callable[[Any], bool]:
    if kind == "date":
        if len(values) != 1:
            raise JqlError(f"Error in the JQL Query: IN is not supported for '{field}'.")
        bound = parse_jql_datetime(values[0])
        cmp = {
            "=": lambda a: a == bound, ">=": lambda a: a >= bound, ">": lambda a: a > bound,
            "<=": lambda a: a <= bound, "<": lambda a: a < bound,
        }[op]
        return lambda actual: actual is not None and cmp(actual)
    if op != "=":
        raise JqlError(f"Error in the JQL Query: the operator '{op}' is not supported for field '{field}'.")
    if kind == "key":
        wanted = {v.upper() for v in values}
        return lambda actual: bool(set(a.upper() for a in actual) & wanted)
    if kind == "exact":
        wanted_exact = set(values)
        return lambda actual: bool(set(actual) & wanted_exact)
    wanted_ci = {v.lower() for v in values}
    return lambda actual: bool({str(a).lower() for a in actual} & wanted_ci)


class FieldResolver:
    """Maps a JQL field name to a getter returning a list of comparable values (or a datetime)."""

    def __init__(self, fields: list[dict[str, Any]], projects: dict[str, dict[str, Any]]) -> None:
        self.fields = fields
        self.projects = projects

    def custom_field_id(self, name: str) -> str | None:
        m = re.fullmatch(r"cf\[(\d+)\]", name, re.I)
        if m:
            return f"customfield_{m.group(1)}"
        if re.fullmatch(r"customfield_\d+", name):
            return name
        low = name.lower()
        for f in self.fields:
            names = [str(f.get("name", "")).lower()] + [str(c).lower() for c in f.get("clauseNames") or []]
            if low in names and str(f.get("id", "")).startswith("customfield_"):
                return f["id"]
        return None

    def resolve(self, name: str) -> tuple[Callable[[dict[str, Any]], Any], str]:
        low = name.lower()
        f = lambda issue: issue.get("fields") or {}  # noqa: E731
        if low == "project":
            def project(issue: dict[str, Any]) -> list[str]:
                p = f(issue).get("project") or {}
                return [str(p.get("key", "")), str(p.get("id", "")), str(p.get("name", ""))]
            return project, "ci"
        if low in ("key", "issuekey", "id"):
            return (lambda issue: [issue["key"], str(issue.get("id", ""))]), "key"
        if low == "parent":
            def parent(issue: dict[str, Any]) -> list[str]:
                p = f(issue).get("parent") or {}
                return [v for v in (p.get("key"), p.get("id")) if v]
            return parent, "key"
        if low in ("issuetype", "type"):
            return (lambda issue: [v for v in [(f(issue).get("issuetype") or {}).get("name"),
                                               (f(issue).get("issuetype") or {}).get("id")] if v]), "ci"
        if low in ("labels", "label"):
            return (lambda issue: list(f(issue).get("labels") or [])), "ci"
        if low == "status":
            return (lambda issue: [v for v in [(f(issue).get("status") or {}).get("name")] if v]), "ci"
        if low == "summary":
            return (lambda issue: [f(issue).get("summary") or ""]), "ci"
        if low in ("updated", "updateddate", "created", "createddate"):
            attr = "updated" if low.startswith("updated") else "created"
            return (lambda issue: parse_jira_timestamp(f(issue).get(attr))), "date"
        cf = self.custom_field_id(name)
        if cf:
            def custom(issue: dict[str, Any]) -> list[str]:
                v = f(issue).get(cf)
                if v is None or v == "":
                    return []
                if isinstance(v, dict):
                    return [str(x) for x in (v.get("key"), v.get("value"), v.get("id")) if x]
                if isinstance(v, list):
                    return [str(x) for x in v]
                return [str(v)]
            return custom, "key"
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


def compile_jql(text: str, fields: list[dict[str, Any]], projects: dict[str, dict[str, Any]]) -> Query:
    return _Parser(tokenize(text or ""), FieldResolver(fields, projects)).parse()


def sort_issues(issues: list[dict[str, Any]], order_by: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    result = sorted(issues, key=lambda i: _key_tuple(i["key"]))
    for field, desc in reversed(order_by or []):
        low = field.lower()
        if low in ("key", "issuekey", "id", "rank"):
            keyfn: Callable[[dict[str, Any]], Any] = lambda i: _key_tuple(i["key"])  # noqa: E731
        elif low in ("updated", "created"):
            epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
            keyfn = lambda i, a=low: parse_jira_timestamp((i.get("fields") or {}).get(a)) or epoch  # noqa: E731
        elif low in ("summary", "status", "issuetype"):
            def keyfn(i: dict[str, Any], a: str = low) -> str:
                v = (i.get("fields") or {}).get(a)
                return str((v or {}).get("name", "") if isinstance(v, dict) else (v or ""))
        else:
            raise JqlError(f"Error in the JQL Query: ordering by '{field}' is not supported by this Jira emulator.")
        result.sort(key=keyfn, reverse=desc)
    return result

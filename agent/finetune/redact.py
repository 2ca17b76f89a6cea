"""Redaction: e-mail addresses, phone numbers and anything that looks like a secret replaced by
markers, in text and in JSON-like structures, before it goes into fine-tuning data."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# Order matters: structured secrets first (so a token inside a URL or header is caught whole),
# then e-mail addresses, then phone numbers, then long opaque strings.
_SECRET_VALUE = r"[^\s\"'`,;<>)]{4,}"
_REDACTIONS: list[tuple[str, re.Pattern[str], str]] = [
    ("secret", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "[REDACTED_PRIVATE_KEY]"),
    ("secret", re.compile(r"(?i)\b(bearer|token|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*\d)([A-Za-z0-9._~+/=-]{12,})"),
     r"\1\2[REDACTED_SECRET]"),
    ("secret", re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1[REDACTED_CREDENTIALS]@"),
    ("secret", re.compile(
        r"(?i)\b((?:api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?key)?|client[_-]?secret|"
        r"password|passwd|pwd|passphrase|auth[_-]?token|access[_-]?token|refresh[_-]?token|token)"
        r"[\"']?\s*(?:=|:(?=\s*[\"']?[^\s\"']*[\d!@#$%^&*_+=~-]))\s*[\"']?)(" + _SECRET_VALUE + ")"),
     r"\1[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abprs])[-_][A-Za-z0-9_-]{10,}\b"),
     "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED_SECRET]"),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
     "[REDACTED_EMAIL]"),
    # Phone numbers: international (+CC ...), Australian (04xx xxx xxx, (02) xxxx xxxx, 1300/1800),
    # North American ((555) 555-5555). Dates, amounts, UUIDs and ids do not match these shapes.
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\(0\d\)\s?\d{4}[\s-]?\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])0[2-478](?:[\s-]?\d){8}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])1[38]00(?:[\s-]?\d){6}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\(\d{3}\)\s?\d{3}[\s.-]\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\d{3}[.-]\d{3}[.-]\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("secret", re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[REDACTED_SECRET]"),
]
# Long opaque strings (base64/base64url keys). Not across "/" or ".": URL paths and host names stay.
_B64_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_.-])[A-Za-z0-9+_-]{32,}={0,2}(?![A-Za-z0-9+/_.-])")


def _looks_random(s: str) -> bool:
    """A long run mixing upper case, lower case and digits (a key), not a long word or identifier."""
    body = s.rstrip("=")
    if len(body) < 32:
        return False
    classes = sum(bool(re.search(p, body)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    digits = sum(ch.isdigit() for ch in body)
    return classes == 3 and digits >= 4


def redact(text: str, counts: Counter[str] | None = None) -> str:
    """`text` with e-mail addresses, phone numbers and secret-looking strings replaced by markers."""
    if not text:
        return text
    out = text
    for kind, pattern, repl in _REDACTIONS:
        out, n = pattern.subn(repl, out)
        if n and counts is not None:
            counts[kind] += n

    def _b64(m: re.Match[str]) -> str:
        if _looks_random(m.group(0)):
            if counts is not None:
                counts["secret"] += 1
            return "[REDACTED_SECRET]"
        return m.group(0)

    return _B64_CANDIDATE.sub(_b64, out)


def redact_obj(obj: Any, counts: Counter[str] | None = None) -> Any:
    """Redact every string inside a JSON-like structure (keys included), keeping its shape."""
    if isinstance(obj, str):
        return redact(obj, counts)
    if isinstance(obj, list):
        return [redact_obj(v, counts) for v in obj]
    if isinstance(obj, dict):
        return {redact(k, counts) if isinstance(k, str) else k: redact_obj(v, counts) for k, v in obj.items()}
    return obj

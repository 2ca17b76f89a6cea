"""Jira issue keys: the one definition of what a key looks like, and how one goes into a URL path.

A key is a project key (an upper-case letter, then at least one more upper-case letter, digit or
underscore: Jira's rule, the default pattern plus what an administrator may allow), a dash and
the issue number (no leading zero). Jira looks keys up case-insensitively, so `er-1` is taken as
`ER-1`. Every entry point (the CLI, `POST /jobs`, webhook payloads, the nightly sweep) and every
connector that puts a key into a REST path goes through `check_issue_key`, so a value such as
`../../rest/api/2/serverInfo` can never become another Jira path.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from connectors.errors import CasewrightError

MAX_KEY_LENGTH = 255
"""Longer than any project key Jira allows plus an issue number; longer input is not a key."""

_PROJECT = "[A-Z][A-Z0-9_]+"
_NUMBER = "[1-9][0-9]*"

ISSUE_KEY = re.compile(f"{_PROJECT}-{_NUMBER}")
"""A Jira issue key in canonical form (use `fullmatch`, or `is_issue_key` / `check_issue_key`)."""

PROJECT_KEY = re.compile(_PROJECT)
"""A Jira project key (the part of an issue key before the dash)."""

_SPACE = " \t\r\n"
"""Around a key given as input, these are ignored (a pasted key with a trailing newline)."""

KEY_PATTERN = f"^[{_SPACE}]*" + f"{_PROJECT}-{_NUMBER}".replace("A-Z", "A-Za-z") + f"[{_SPACE}]*$"
"""The keys accepted as input (any case), as a JSON Schema pattern for the OpenAPI documents."""


class InvalidKeyError(CasewrightError, ValueError):
    """A value given as an issue key that is not one; the message names it and the expected form."""


def shown(value: object, limit: int = 60) -> str:
    """A bad value as it may be quoted in a one-line error: repr'd (control characters escaped)
    and cut to `limit` characters."""
    text = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def normalise_key(value: object) -> str | None:
    """The key in Jira's canonical (upper-case) form, or None when `value` is not an issue key."""
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH or not value.isascii():
        return None
    key = value.strip(_SPACE).upper()
    if not ISSUE_KEY.fullmatch(key):
        return None
    return key


def is_issue_key(value: object) -> bool:
    return normalise_key(value) is not None


def check_issue_key(value: object, what: str = "issue key") -> str:
    """`value` as a canonical issue key, or InvalidKeyError naming it (e.g. what='epic key')."""
    key = normalise_key(value)
    if key is None:
        if value is None or (isinstance(value, str) and not value.strip(_SPACE)):
            raise InvalidKeyError(f"an {what} is required, e.g. ER-1")
        raise InvalidKeyError(f"{what} {shown(value)} is not a Jira issue key: expected PROJECT-123 "
                              "(a project key of upper-case letters, digits or _, a dash, a number)")
    return key


def key_path(value: object, what: str = "issue key") -> str:
    """A checked key, percent-encoded for one segment of a REST path (`issue/{key_path(k)}`)."""
    return quote(check_issue_key(value, what), safe="")


def issue_ref_path(value: object) -> str:
    """An issue key or numeric issue id (Jira's issueIdOrKey) for one path segment, or InvalidKeyError."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 20:
        return value.strip()
    return key_path(value)


def segment(value: object) -> str:
    """Any other value (a property key, a comment id) percent-encoded as one path segment; never
    a dot segment."""
    text = str(value)
    if text in ("", ".", ".."):
        raise InvalidKeyError(f"{shown(text)} cannot be a segment of a Jira REST path")
    return quote(text, safe="")


def project_path(value: object) -> str:
    """A project key percent-encoded for one path segment, or InvalidKeyError."""
    key = value.strip().upper() if isinstance(value, str) and value.isascii() else None
    if not key or len(key) > MAX_KEY_LENGTH or not PROJECT_KEY.fullmatch(key):
        raise InvalidKeyError(f"project key {shown(value)} is not a Jira project key such as ER")
    return quote(key, safe="")

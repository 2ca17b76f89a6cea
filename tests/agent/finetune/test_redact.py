"""Redaction of contact details and secrets, keeping ordinary test data."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.finetune.redact import redact


@pytest.mark.parametrize("text, gone", [
    ("mail jane.doe@volta-energy.com.au now", "jane.doe@volta-energy.com.au"),
    ("call 0412 345 678 today", "0412 345 678"),
    ("call (02) 9876 5432", "9876 5432"),
    ("call +61 2 9876 5432", "9876 5432"),
    ("call 1300 123 456", "1300 123 456"),
    ("Authorization: Bearer abcdefghijklmnop123456", "abcdefghijklmnop123456"),
    ("api_key=sk-live-ABCDEF1234567890abcd", "ABCDEF1234567890abcd"),
    ('{"password": "S3cret!pass"}', "S3cret!pass"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
    ("aws AKIAIOSFODNN7EXAMPLE key", "AKIAIOSFODNN7EXAMPLE"),
    ("digest 0123456789abcdef0123456789abcdef0123", "0123456789abcdef0123456789abcdef"),
    ("blob dGhpcyBpcyBhIHNlY3JldCBrZXkgZm9yIHRlc3Rpbmc1MjM0NQ== end", "dGhpcyBpcyBhIHNlY3JldCBr"),
    ("https://svc:pa55w0rd@example.com/x", "pa55w0rd"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
])
def test_redact_removes_contacts_and_secrets(text, gone):
    counts: Counter[str] = Counter()
    out = redact(text, counts)
    assert gone not in out
    assert "[REDACTED_" in out and sum(counts.values()) >= 1


@pytest.mark.parametrize("text", [
    "Amount $1,200.00 due 2026-11-20, 14 business days, status 404",
    "UUID 123e4567-e89b-12d3-a456-426614174000 and account 4001234567",
    "See https://voltaenergy.atlassian.net/wiki/spaces/ER/pages/200001/Payment+Extension+Rules",
    "The password is required and the token field must not be empty",
    "GET /1.0/kb/accounts/{accountId}/paymentMethods?withPluginInfo=true",
])
def test_redact_keeps_ordinary_test_data(text):
    assert redact(text) == text

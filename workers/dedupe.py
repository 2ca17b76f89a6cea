"""Webhook delivery de-duplication by `X-Atlassian-Webhook-Identifier`.

Jira retries a delivery it thinks failed for up to half an hour, with the same identifier.
The first delivery claims the identifier with ``SET NX EX`` (value ``pending``); once it is
handled the value becomes the outcome (the job id it was enqueued as, or ``ignored``), keeping
the expiry. A retry that finds the key answers with the recorded outcome and does nothing.
If handling fails after the claim (Redis or the broker went away), the claim is released so
that Jira's next retry is processed: a delivery is never lost and never handled twice.
"""

from __future__ import annotations

import hashlib
import re

import redis

from connectors.errors import CasewrightError

PENDING = "pending"
MAX_DELIVERY_ID = 200
DELIVERY_ID_PATTERN = r"^[\x20-\x7e]*$"  # printable ASCII; the OpenAPI document says the same
_DELIVERY_ID = re.compile(DELIVERY_ID_PATTERN)
"""Longest X-Atlassian-Webhook-Identifier accepted (Jira sends a UUID); longer ones are refused,
never cut: two ids cut to the same prefix would make one delivery look like a duplicate."""


class DeliveryDedupe:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int = 3600) -> None:
        if ttl_s < 1:
            raise ValueError("the de-duplication TTL must be at least 1 second")
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def key(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    def claim(self, delivery_id: str) -> str | None:
        """Claim a delivery. None when it is new; else what the earlier delivery recorded."""
        key = self.key(delivery_id)
        if self.client.set(key, PENDING, nx=True, ex=self.ttl_s):
            return None
        value = self.client.get(key)
        if value is None:  # expired between the two calls: treat as new
            return None if self.client.set(key, PENDING, nx=True, ex=self.ttl_s) else PENDING
        return value.decode() if isinstance(value, bytes) else str(value)

    def record(self, delivery_id: str, outcome: str) -> None:
        """Store the outcome of a claimed delivery, keeping the claim's expiry."""
        self.client.set(self.key(delivery_id), outcome, xx=True, keepttl=True)

    def release(self, delivery_id: str) -> None:
        """Forget a claim whose handling failed, so the sender's retry is processed."""
        self.client.delete(self.key(delivery_id))


def delivery_id_for(identifier: str | None, raw_body: bytes) -> str:
    """The delivery's identity: Jira's identifier header, else a digest of the exact body
    (Jira Data Center sends no identifier; a retried delivery repeats the body byte for byte)."""
    if identifier and identifier.strip(" "):
        ident = identifier.strip(" ")
        if len(ident) > MAX_DELIVERY_ID or not _DELIVERY_ID.fullmatch(ident):
            raise CasewrightError(f"X-Atlassian-Webhook-Identifier must be at most {MAX_DELIVERY_ID} printable "
                                  f"ASCII characters (Jira sends a UUID); this one has {len(ident)} characters"
                                  + ("" if _DELIVERY_ID.fullmatch(ident) else ", some of them not printable ASCII"))
        return ident
    return "sha256-" + hashlib.sha256(raw_body).hexdigest()

"""Webhook delivery de-duplication by `X-Atlassian-Webhook-Identifier`.

Jira retries a delivery it thinks failed for up to half an hour, with the same identifier.
A delivery's key ``{prefix}:delivery:{id}`` holds its outcome (the job id it was queued as or
joined, or ``ignored``) for ``CASEWRIGHT_WEBHOOK_DEDUPE_TTL`` seconds; a retry that finds the key
answers with the recorded outcome and does nothing. The key is written in the same atomic step
as the outcome itself (one Redis script, no "pending" state): the admission script of
workers/jobs.py for a delivery that queues or joins a job, `claim_ignored` for one the filters
drop. If Redis fails, nothing is written and Jira's next retry is processed: a delivery is
never lost and never handled twice.
"""

from __future__ import annotations

import hashlib
import re

import redis
import redis.asyncio as aioredis

from connectors.errors import CasewrightError

MAX_DELIVERY_ID = 200
DELIVERY_ID_PATTERN = r"^[\x20-\x7e]*$"  # printable ASCII; the OpenAPI document says the same
_DELIVERY_ID = re.compile(DELIVERY_ID_PATTERN)
"""Longest X-Atlassian-Webhook-Identifier accepted (Jira sends a UUID); longer ones are refused,
never cut: two ids cut to the same prefix would make one delivery look like a duplicate."""


IGNORED = "ignored"

# KEYS[1] = delivery key; ARGV[1] = outcome; ARGV[2] = TTL. Returns the earlier outcome, or
# false (nil) after recording this one.
_CLAIM = """
local earlier = redis.call('GET', KEYS[1])
if earlier then
  return earlier
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return false
"""


class DeliveryDedupe:
    def __init__(self, client: redis.Redis | aioredis.Redis, prefix: str, ttl_s: int = 3600) -> None:
        if ttl_s < 1:
            raise ValueError("the de-duplication TTL must be at least 1 second")
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._claim = client.register_script(_CLAIM)

    def key(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    def claim_ignored(self, delivery_id: str) -> str | None:
        """Record a delivery the filters drop, in one round trip: None when it is new, else
        what its earlier delivery recorded (a job id, or "ignored")."""
        return _text(self._claim(keys=[self.key(delivery_id)], args=[IGNORED, self.ttl_s]))

    async def claim_ignored_async(self, delivery_id: str) -> str | None:
        """`claim_ignored` for a DeliveryDedupe made on an asyncio Redis client (the webhook's)."""
        return _text(await self._claim(keys=[self.key(delivery_id)], args=[IGNORED, self.ttl_s]))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


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

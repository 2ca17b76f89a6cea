"""Provider rate limits, held across a run's parallel fan-out.

One RateLimits per chat model (the generator that every graph branch shares builds it):
requests per minute by langchain-core's InMemoryRateLimiter, which the chat model consults
before each request, and tokens per minute by TokenBudget, which `structured.ask` consults before
each call with the prompt's estimated size and charges with the tokens the provider reports.
A 429 the provider still answers is retried by its client, which waits the `Retry-After`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from langchain_core.rate_limiters import InMemoryRateLimiter

MINUTE_S = 60.0


def estimate_tokens(text: str) -> int:
    """About four characters a token: enough to budget a prompt before the provider counts it."""
    return max(1, (len(text) + 3) // 4) if text else 0


class TokenBudget:
    """At most `per_window` tokens in any `window_s` seconds, shared by threads. A call larger
    than the whole budget waits for an empty window and then goes alone."""

    def __init__(self, per_window: int, window_s: float = MINUTE_S):
        self.per_window = int(per_window)
        self.window_s = float(window_s)
        self._spent: deque[list[float]] = deque()  # [when, tokens]
        self._cond = threading.Condition()

    def _used(self, now: float) -> int:
        while self._spent and now - self._spent[0][0] >= self.window_s:
            self._spent.popleft()
        return int(sum(t for _, t in self._spent))

    def acquire(self, tokens: int) -> list[float]:
        """Wait until `tokens` fit, then reserve them; returns the reservation for settle()."""
        with self._cond:
            while True:
                now = time.monotonic()
                used = self._used(now)
                if not self._spent or used + tokens <= self.per_window:
                    slot = [now, float(tokens)]
                    self._spent.append(slot)
                    return slot
                wait = self._spent[0][0] + self.window_s - now
                self._cond.wait(timeout=max(0.01, wait))

    def settle(self, slot: list[float], actual: int) -> None:
        """Charge what the call really used instead of the estimate (kept when none was reported)."""
        with self._cond:
            if actual > 0:
                slot[1] = float(actual)
            self._cond.notify_all()


@dataclass
class RateLimits:
    requests: InMemoryRateLimiter | None = None
    tokens: TokenBudget | None = None

    @classmethod
    def per_minute(cls, requests_per_minute: float | None, tokens_per_minute: int | None,
                   window_s: float = MINUTE_S) -> "RateLimits":
        requests = None
        if requests_per_minute:
            requests = InMemoryRateLimiter(requests_per_second=float(requests_per_minute) / window_s,
                                           check_every_n_seconds=0.02, max_bucket_size=1)
        tokens = TokenBudget(int(tokens_per_minute), window_s) if tokens_per_minute else None
        return cls(requests, tokens)

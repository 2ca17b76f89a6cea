"""What a test sets and reads on the emulator besides its data: the credentials it enforces,
the faults it injects, and the log of the requests it received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Faults:
    """Per-test fault injection. Counters count down as faults fire; `clear()` resets everything."""

    latency_s: float = 0.0
    throttle_next: int = 0          # the next N requests get 429 with Retry-After
    retry_after: int = 1
    unavailable_next: int = 0       # the next N requests get 503
    fail_write_at: int | None = None  # the Nth write (POST/PUT/DELETE, not searches) from now fails
    fail_writes_after: bool = False   # ...and so does every write after it (a Jira that went away)
    apply_then_fail: bool = False     # the failing write is applied, then answered 500 (response lost)
    fail_status: int = 500
    only_path: str | None = None      # throttle/unavailable only requests whose path contains this
    writes_seen: int = 0

    def clear(self) -> None:
        fresh = Faults()
        for name in fresh.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, Any]
    status: int
    body: Any = None
    auth: str = "none"  # basic | bearer | none
    is_write: bool = False


@dataclass
class Credentials:
    email: str | None = None
    api_token: str | None = None
    pat: str | None = None

    @property
    def enforced(self) -> bool:
        return bool((self.email and self.api_token) or self.pat)

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


@dataclass
class Injected:
    """A fault the emulator answers instead of (or, with `applied`, after) handling a request."""

    status: int
    message: str
    headers: dict[str, str]
    applied: bool = False  # handle the request first, then answer this (the caller never hears it worked)


def injected_fault(faults: Faults, *, path: str, is_write: bool) -> Injected | None:
    """The fault `faults` asks for on this request, if any; counts the fault down as it fires."""
    scoped = faults.only_path is None or faults.only_path in path
    if faults.throttle_next > 0 and scoped:
        faults.throttle_next -= 1
        return Injected(429, "Rate limit exceeded.", {"Retry-After": str(int(faults.retry_after))})
    if faults.unavailable_next > 0 and scoped:
        faults.unavailable_next -= 1
        return Injected(503, "Service Unavailable: the emulator was told to fail this request.", {})
    if is_write and faults.fail_write_at is not None:
        faults.writes_seen += 1
        n = faults.writes_seen
        if n == faults.fail_write_at or (faults.fail_writes_after and n > faults.fail_write_at):
            if faults.apply_then_fail:
                return Injected(faults.fail_status, f"Injected failure after applying write #{n}.", {}, applied=True)
            return Injected(faults.fail_status, f"Injected failure of write #{n}.", {})
    return None

"""The nightly schedule: `casewright beat` runs Celery beat with one entry, the sweep
(workers/sweep.py), at `CASEWRIGHT_NIGHTLY_CRON` (five-field cron) in `CASEWRIGHT_TIMEZONE`."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab
from croniter import croniter

from connectors.errors import CasewrightError
from connectors.settings import Settings


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CasewrightError(
            f"unknown time zone {settings.timezone!r} in CASEWRIGHT_TIMEZONE; "
            "use an IANA name such as UTC or Australia/Melbourne") from None


def nightly_crontab(settings: Settings) -> crontab:
    """The sweep's schedule: a standard five-field cron expression in the configured zone."""
    expr = (settings.nightly_cron or "").strip()
    fields = expr.split()
    if len(fields) != 5 or not croniter.is_valid(expr):
        raise CasewrightError(
            f"CASEWRIGHT_NIGHTLY_CRON {expr!r} is not a five-field cron expression "
            "(minute hour day-of-month month day-of-week), e.g. '0 2 * * *'")
    zone(settings)  # validates; the app's `timezone` setting makes beat read the cron in it
    minute, hour, dom, month, dow = fields
    return crontab(minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow)



def next_runs(settings: Settings, count: int = 3, start: datetime | None = None) -> list[datetime]:
    """The next times the sweep runs, in the configured zone (for `casewright beat` to print)."""
    nightly_crontab(settings)  # validates
    base = (start or datetime.now(timezone.utc)).astimezone(zone(settings))
    it = croniter(settings.nightly_cron, base)
    return [it.get_next(datetime) for _ in range(count)]


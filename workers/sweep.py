"""The nightly sweep: enqueue a generate job for every epic updated since the last sweep.

The sweep asks Jira for the epics updated since the last *successful* sweep,

    (<CASEWRIGHT_SWEEP_JQL or: issuetype = Epic>) AND updated >= "yyyy-MM-dd HH:mm"

enqueues a generate job for each (issues that are not epics count for their parent epic),
and then re-syncs the knowledge base. The watermark lives in Redis
(`{prefix}:sweep:watermark`, UTC ISO time) and moves to the sweep's *start* time only after
every epic was enqueued, so an epic updated while a sweep runs is seen by the next one and a
sweep that fails (Jira down, Redis hiccup) is simply done again from the same point.
JQL reads the time in the Jira user's time zone, so it is written in `CASEWRIGHT_TIMEZONE`;
minutes are truncated and `>=` is inclusive, so nothing falls between two sweeps.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from connectors.errors import CasewrightError
from connectors.jira_access import JiraAccess
from connectors.jira_keys import normalise_key, shown
from connectors.settings import Settings
from connectors.workspace import epic_of_issue
from workers.jobs import enqueue_generate, redis_client
from workers.schedule import zone

log = logging.getLogger(__name__)

FIRST_SWEEP_LOOKBACK = timedelta(days=1)
SearchFn = Callable[[str], Iterable[dict[str, Any]]]
EnqueueFn = Callable[[str], Any]


# -- the watermark ------------------------------------------------------------------------------
def watermark_key(settings: Settings) -> str:
    return f"{settings.redis_prefix}:sweep:watermark"


def read_watermark(client: Any, settings: Settings) -> datetime | None:
    raw = client.get(watermark_key(settings))
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        log.error("ignoring unreadable sweep watermark %r", text)
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def write_watermark(client: Any, settings: Settings, when: datetime) -> None:
    client.set(watermark_key(settings), when.astimezone(timezone.utc).isoformat(timespec="seconds"))


def jql_time(when: datetime, settings: Settings) -> str:
    """`yyyy-MM-dd HH:mm` in the configured zone, minutes truncated (JQL's own format)."""
    return when.astimezone(zone(settings)).strftime("%Y-%m-%d %H:%M")


def sweep_jql(settings: Settings, since: datetime) -> str:
    base = (settings.sweep_jql or "").strip() or "issuetype = Epic"
    base = _strip_order_by(base)
    return f'({base}) AND updated >= "{jql_time(since, settings)}" ORDER BY updated ASC'


def _strip_order_by(jql: str) -> str:
    low = jql.lower()
    at = low.rfind(" order by ")
    return jql[:at].strip() if at >= 0 else jql


def epic_keys_of(issues: Iterable[dict[str, Any]], epic_link_field: str | None = None,
                 skipped: list[str] | None = None) -> list[str]:
    """Epic keys for a search result: an epic stands for itself, anything else for its epic.
    A value that is not a Jira issue key is never queued: it goes to `skipped` (shown safely)."""
    keys: list[str] = []
    for issue in issues:
        raw = epic_of_issue(issue, epic_link_field)
        if not raw:
            continue
        key = normalise_key(raw)
        if key is None:
            log.warning("sweep: %s names epic %s, which is not a Jira issue key; skipped",
                        shown(issue.get("key")), shown(raw))
            if skipped is not None:
                skipped.append(shown(raw))
        elif key not in keys:
            keys.append(key)
    return keys


def run_sweep(settings: Settings, *, search: SearchFn | None = None, enqueue: EnqueueFn | None = None,
              client: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """One sweep. Raises (and leaves the watermark where it was) when any step fails."""
    client = client or redis_client(settings)
    started = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    previous = read_watermark(client, settings)
    since = previous or (started - FIRST_SWEEP_LOOKBACK)
    jql = sweep_jql(settings, since)
    search = search or _jira_search(settings)
    enqueue = enqueue or (lambda key: enqueue_generate(key, settings=settings, trigger="sweep",
                                                       detail=f"updated since {since.isoformat()}"))
    issues = list(search(jql))
    skipped: list[str] = []
    epics = epic_keys_of(issues, skipped=skipped)
    jobs: dict[str, str] = {}
    for key in epics:
        queued = enqueue(key)
        jobs[key] = getattr(queued, "job_id", str(queued))
    write_watermark(client, settings, started)
    log.info("sweep: %d epic(s) updated since %s enqueued; watermark now %s",
             len(epics), since.isoformat(), started.isoformat())
    return {"jql": jql, "since": since.isoformat(), "watermark": started.isoformat(),
            "first_sweep": previous is None, "epics": epics, "jobs": jobs, "skipped": skipped}


def _jira_search(settings: Settings) -> SearchFn:
    """Search with the project's Jira connector (JIRA_URL and credentials from the settings;
    it retries 429/5xx itself and raises connectors' TransientError when Jira stays away)."""
    if not settings.jira_url:
        raise CasewrightError("the nightly sweep needs JIRA_URL (and credentials) to search for updated epics")
    source = JiraAccess.from_settings(settings).source()
    return lambda jql: source.search(jql, fields="summary,issuetype,parent,updated,status")


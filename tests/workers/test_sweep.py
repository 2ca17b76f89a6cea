"""The nightly schedule and the sweep: cron + time zone -> beat entry; the sweep finds epics
updated since its watermark in the Jira emulator (searched with the real `jira` client over
HTTP), queues them in the real Redis (DB 8), and advances the watermark only on success."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import redis
from jira import JIRA
from pydantic import SecretStr

from connectors.emulators.atlassian.server import SandboxServer
from connectors.errors import CasewrightError
from connectors.workspace import SAMPLE_PATH
from support.service import cleanup, make_settings, redis_client, unique_prefix
from workers.celery_app import TASK_SWEEP, make_celery
from workers.celery_wire import queue_key
from workers.schedule import next_runs, nightly_crontab
from workers.sweep import epic_keys_of, jql_time, read_watermark, run_sweep, sweep_jql, write_watermark

DB = 8
EMAIL, TOKEN = "qa@example.com", "sweep-token"


def test_beat_runs_the_sweep_on_the_configured_cron_and_zone():
    s = make_settings(DB, "unused", nightly_cron="30 1 * * 1-5", timezone="Australia/Melbourne")
    app = make_celery(s, with_schedule=True)
    entry = app.conf.beat_schedule["nightly-sweep"]
    assert entry["task"] == TASK_SWEEP
    cron = entry["schedule"]
    assert cron.minute == {30} and cron.hour == {1} and cron.day_of_week == {1, 2, 3, 4, 5}
    assert app.conf.timezone == "Australia/Melbourne"
    # Friday 2026-11-27 12:00 UTC is Friday 23:00 in Melbourne: next is Monday 01:30 there
    runs = next_runs(s, 2, start=datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))
    assert [r.strftime("%a %H:%M") for r in runs] == ["Mon 01:30", "Tue 01:30"]
    assert runs[0].utcoffset() == timedelta(hours=11)
    # the crontab bound to the app computes due times in the app's zone
    cron = cron.__class__(minute="30", hour="1", day_of_week="1-5", app=app)
    assert str(cron.tz) == "Australia/Melbourne"


@pytest.mark.parametrize("cron, zone, message", [
    ("0 2 * *", "UTC", "five-field"), ("61 2 * * *", "UTC", "five-field"),
    ("every night", "UTC", "five-field"), ("0 2 * * *", "Mars/Olympus", "time zone")])
def test_a_bad_cron_or_zone_is_a_clear_error(cron, zone, message):
    s = make_settings(DB, "unused", nightly_cron=cron, timezone=zone)
    with pytest.raises(CasewrightError, match=message):
        nightly_crontab(s)


def test_jql_time_is_written_in_the_configured_zone():
    when = datetime(2026, 11, 24, 15, 47, 59, tzinfo=timezone.utc)
    assert jql_time(when, make_settings(DB, "x")) == "2026-11-24 15:47"
    assert jql_time(when, make_settings(DB, "x", timezone="Australia/Melbourne")) == "2026-11-25 02:47"
    s = make_settings(DB, "x", sweep_jql="project = ER AND issuetype = Epic ORDER BY key")
    assert sweep_jql(s, when) == \
        '(project = ER AND issuetype = Epic) AND updated >= "2026-11-24 15:47" ORDER BY updated ASC'


def test_epic_keys_of_maps_stories_to_parents():
    issues = [{"key": "ER-1", "fields": {"issuetype": {"name": "Epic"}}},
              {"key": "ER-2", "fields": {"issuetype": {"name": "Story"}, "parent": {"key": "ER-1"}}},
              {"key": "ER-9", "fields": {"issuetype": {"name": "Story"}, "parent": {"key": "ER-8"}}},
              {"key": "ER-50", "fields": {"issuetype": {"name": "Story"}}}]
    assert epic_keys_of(issues) == ["ER-1", "ER-8"]


@pytest.fixture
def sandbox():  # one per test: each test edits issues
    with SandboxServer(SAMPLE_PATH, mode="cloud", email=EMAIL, api_token=TOKEN) as sb:
        yield sb


@pytest.fixture
def sweep_env(sandbox, tmp_path):
    prefix = unique_prefix("sweep")
    settings = make_settings(DB, prefix, jira_url=sandbox.url, jira_email=EMAIL, jira_api_token=TOKEN,
                             timezone="UTC", data_dir=tmp_path, sweep_jql="project = ER AND issuetype = Epic")
    jira = JIRA(sandbox.url, basic_auth=(EMAIL, TOKEN))  # a person editing issues
    yield settings, jira
    cleanup(DB, prefix)


def _queued(settings) -> list[str]:
    r = redis_client(DB)
    return [json.loads(m)["headers"]["id"] for m in r.lrange(queue_key(settings), 0, -1)]


def test_the_sweep_picks_up_only_epics_updated_since_its_watermark(sweep_env, sandbox):
    settings, jira = sweep_env
    client = redis_client(DB)
    now = datetime.now(timezone.utc)
    # the first sweep (no watermark) looks back a day: the sample's epics are older than that
    first = run_sweep(settings, client=client, now=now)
    assert first["first_sweep"] and first["epics"] == []
    watermark = read_watermark(client, settings)
    assert watermark == now.replace(second=0, microsecond=0)
    assert _queued(settings) == []

    # a person edits epic ER-8 and a story of epic ER-14 (the sweep's JQL only asks for epics)
    jira.issue("ER-8").update(summary="Payment extensions (revised)")
    story = next(i for i in jira.search_issues('parent = ER-14', maxResults=5))
    story.update(summary=story.fields.summary + " (edited)")

    sandbox.reset_log()
    second = run_sweep(settings, client=client, now=datetime.now(timezone.utc))
    assert second["epics"] == ["ER-8"]
    assert f'updated >= "{jql_time(watermark, settings)}"' in second["jql"]
    assert any("search" in r.path and r.status == 200 for r in sandbox.requests)  # really asked Jira
    assert _queued(settings) == [second["jobs"]["ER-8"]]
    assert read_watermark(client, settings) >= watermark

    # with stories in the JQL, a story's change counts for its epic; ER-8 is still queued (coalesced)
    wide = settings.model_copy(update={"sweep_jql": "project = ER AND issuetype in (Epic, Story)"})
    write_watermark(client, wide, watermark)
    third = run_sweep(wide, client=client)
    assert third["epics"] == ["ER-8", "ER-14"]
    assert third["jobs"]["ER-8"] == second["jobs"]["ER-8"]
    assert len(_queued(settings)) == 2


def test_a_failed_sweep_does_not_advance_the_watermark(sweep_env, sandbox):
    settings, jira = sweep_env
    client = redis_client(DB)
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    write_watermark(client, settings, start)
    jira.issue("ER-1").update(summary="Move-in and move-out (revised)")

    # Jira refuses the search (credentials revoked)
    revoked = settings.model_copy(update={"jira_api_token": SecretStr("revoked")})
    with pytest.raises(CasewrightError):
        run_sweep(revoked, client=client)
    assert read_watermark(client, settings) == start.replace(microsecond=0)

    # queueing fails half-way
    def broken_enqueue(key):
        raise redis.ConnectionError("broker went away")

    with pytest.raises(redis.ConnectionError):
        run_sweep(settings, client=client, enqueue=broken_enqueue)
    assert read_watermark(client, settings) == start.replace(microsecond=0)
    assert _queued(settings) == []

    # the next sweep does the work from the same point, then advances
    done = run_sweep(settings, client=client)
    assert done["epics"] == ["ER-1"]
    assert read_watermark(client, settings) > start
    assert _queued(settings) == [done["jobs"]["ER-1"]]


def test_the_sweep_task_without_jira_settings_says_what_is_missing(tmp_path):
    s = make_settings(DB, unique_prefix("nojira"), jira_url=None, data_dir=tmp_path)
    with pytest.raises(CasewrightError, match="JIRA_URL"):
        run_sweep(s, client=redis_client(DB))


@pytest.mark.slow
def test_the_knowledge_resync_reads_live_jira_and_is_incremental(sweep_env):
    from workers.tasks import _sync_knowledge, knowledge_jql

    settings, jira = sweep_env
    assert knowledge_jql(settings, []) is None
    assert knowledge_jql(settings.model_copy(update={"webhook_projects": ["pay"]}), ["ER"]) == \
        "project in (ER, PAY) ORDER BY key ASC"
    first = _sync_knowledge(settings, ["ER"])
    assert first["issues"] == 40 and first["added"] > 0 and first["added"] == first["chunks"]
    jira.issue("ER-2").update(summary="Book a move-in with a meter read (revised)")
    second = _sync_knowledge(settings, ["ER"])
    assert second["embedded"] >= 1 and second["embedded"] < first["embedded"]
    assert second["added"] == 0 and second["chunks"] == first["chunks"]
    skipped = _sync_knowledge(settings, [])
    assert "CASEWRIGHT_WEBHOOK_PROJECTS" in skipped["skipped"]


def test_an_epic_key_from_jira_that_is_not_a_key_is_skipped_and_the_others_are_queued(sweep_env, sandbox):
    from connectors.emulators.atlassian.state import now_jira

    settings, jira = sweep_env
    client = redis_client(DB)
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    write_watermark(client, settings, start)
    jira.issue("ER-8").update(summary="Payment extensions (revised)")
    story = sandbox.state.issues["ER-2"]  # Jira (or a proxy in front of it) names a path as the epic
    story["fields"]["parent"] = {"key": "../../etc/passwd", "fields": {"issuetype": {"name": "Epic"}}}
    story["fields"]["updated"] = now_jira()
    wide = settings.model_copy(update={"sweep_jql": "project = ER AND issuetype in (Epic, Story)"})
    done = run_sweep(wide, client=client)
    assert done["epics"] == ["ER-8"] and done["skipped"] == ["'../../etc/passwd'"]
    assert _queued(settings) == [done["jobs"]["ER-8"]]
    assert read_watermark(client, settings) > start  # one bad key does not stop every later sweep

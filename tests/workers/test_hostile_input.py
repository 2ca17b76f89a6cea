"""Hostile and absurd input at the service's doors: webhook payloads whose keys are not Jira keys,
`POST /jobs` bodies the CLI would refuse, bodies nested 100,000 deep, 100 kB delivery ids.

In process against the suite's real Redis (DB 5), no worker: what is refused must queue nothing,
and the answer is a 400 with one line naming the problem (never a 503 that makes Jira retry)."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from agent.configuration import check_formats, check_write_back
from connectors.errors import CasewrightError
from support.service import cleanup, encode, issue_event, make_settings, redis_client, sign, unique_prefix
from workers.celery_wire import queue_key

DB = 5
SECRET = "hostile-webhook-secret"
API_KEY = "hostile-api-key"
HEADERS = {"X-API-Key": API_KEY}

# values that are not Jira issue keys; the first ones would be other REST paths or JQL if used
NOT_KEYS = ["../../etc/passwd", "ER-1/../../serverInfo", "ER-1?expand=names", "ER-1#x", "%2e%2e%2fER-1",
            "ER-1 OR project = HR", "ER-01", "ER-", "-1", "E-1", "1ER-1", "ER_1", "ÉR-1", "ER-1\u0000",
            "ıR-1", "ER-" + "9" * 300]


@pytest.fixture
def env(tmp_path):
    prefix = unique_prefix("hostile")
    settings = make_settings(DB, prefix, webhook_secret=SECRET, api_key=API_KEY, data_dir=tmp_path / "data")
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        yield client, settings
    cleanup(DB, prefix)


def queued(settings) -> list[dict]:
    raw = redis_client(DB).lrange(queue_key(settings), 0, -1)
    return [json.loads(m) for m in raw]


def deliver(client, raw: bytes, delivery: str | None = None):
    return client.post("/webhooks/jira", content=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature": sign(SECRET, raw),
        "X-Atlassian-Webhook-Identifier": delivery if delivery is not None else str(uuid.uuid4())})


def _named(bad: str, detail: str) -> bool:
    """The answer quotes the bad value as given (not upper-cased, not cut before 40 characters)."""
    return repr(bad)[:40] in detail


# -- webhook payload keys ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", NOT_KEYS)
def test_a_signed_webhook_whose_parent_key_is_not_a_key_is_400_naming_it(env, bad):
    client, settings = env
    r = deliver(client, encode(issue_event("ER-2", parent=bad)))
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "parent.key" in detail and _named(bad, detail) and "\n" not in detail
    assert queued(settings) == []


@pytest.mark.parametrize("bad", NOT_KEYS[:6])
@pytest.mark.parametrize("issue_type", ["Story", "Epic"])
def test_a_signed_webhook_whose_issue_key_is_not_a_key_is_400_naming_it(env, bad, issue_type):
    client, settings = env
    body = issue_event("ER-2", issue_type=issue_type, parent=None if issue_type == "Epic" else "ER-1")
    body["issue"]["key"] = bad
    r = deliver(client, encode(body))
    assert r.status_code == 400, r.text
    assert "issue.key" in r.json()["detail"] and _named(bad, r.json()["detail"])
    assert queued(settings) == []


def test_a_non_string_parent_key_or_parent_is_400(env):
    client, settings = env
    for parent in ({"key": 17}, {"key": ["ER-1"]}, "ER-1"):
        body = issue_event("ER-2")
        body["issue"]["fields"]["parent"] = parent
        r = deliver(client, encode(body))
        assert r.status_code == 400, (parent, r.text)
    assert queued(settings) == []


def test_keys_in_any_case_are_taken_as_jira_takes_them(env):
    client, settings = env
    r = deliver(client, encode(issue_event("er-2", parent="er-1")))
    assert r.status_code == 202, r.text
    assert r.json()["epic_key"] == "ER-1" and r.json()["issue_key"] == "ER-2"


# -- absurd bodies and headers -------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "ER-2", "fields": ' + b'{"a": ' * 100_000
    + b"1" + b"}" * 100_000 + b"}}",
    b"null", b'"jira:issue_updated"', b"42", b"true", b"[]", b"\xff\xfe{}",
])
def test_a_signed_but_absurd_body_is_400_not_503(env, raw):
    client, settings = env
    r = deliver(client, raw)
    assert r.status_code == 400, r.text[:300]
    detail = r.json()["detail"]
    assert "Redis" not in detail and "retried" not in detail and len(detail) < 200
    assert queued(settings) == []


def test_a_100_kb_delivery_id_is_400_and_never_cut_into_a_false_duplicate(env):
    client, settings = env
    long_id = "d" * 100_000
    r = deliver(client, encode(issue_event("ER-2")), delivery=long_id)
    assert r.status_code == 400, r.text[:300]
    assert "X-Atlassian-Webhook-Identifier" in r.json()["detail"] and len(r.json()["detail"]) < 200
    # two different ids of 201 characters that share their first 200: neither is a duplicate of the other
    a = deliver(client, encode(issue_event("ER-2", parent="ER-1")), delivery="x" * 200 + "a")
    b = deliver(client, encode(issue_event("ER-9", parent="ER-8")), delivery="x" * 200 + "b")
    assert a.status_code == b.status_code == 400
    assert queued(settings) == []
    ok = deliver(client, encode(issue_event("ER-9", parent="ER-8")), delivery="x" * 200)
    assert ok.status_code == 202 and len(queued(settings)) == 1


# -- POST /jobs: the CLI's rules, 400 with the reason ------------------------------------------------------
def _cli_error(check, *args) -> str:
    with pytest.raises(CasewrightError) as err:
        check(*args)
    return str(err.value)


@pytest.mark.parametrize("bad", NOT_KEYS)
def test_post_jobs_refuses_an_epic_key_that_is_not_a_key(env, bad):
    client, settings = env
    r = client.post("/jobs", json={"epic_key": bad}, headers=HEADERS)
    assert r.status_code == 400, r.text
    assert _named(bad, r.json()["detail"])
    assert queued(settings) == []


@pytest.mark.parametrize("body, expected", [
    ({"epic_key": "ER-1", "write_back": "everything"}, lambda: _cli_error(check_write_back, "everything")),
    ({"epic_key": "ER-1", "write_back": "none", "dry_run": True}, lambda: _cli_error(check_write_back, "none", True)),
    ({"epic_key": "ER-1", "dry_run": True}, lambda: _cli_error(check_write_back, "none", True)),  # default: none
    ({"epic_key": "ER-1", "formats": ["md", "pdf"]}, lambda: _cli_error(check_formats, ["md", "pdf"])),
    ({"epic_key": "ER-1", "formats": []}, lambda: _cli_error(check_formats, [])),
    ({"epic_key": "ER-1", "formats": [" "]}, lambda: _cli_error(check_formats, [" "])),
])
def test_post_jobs_refuses_what_the_cli_refuses_with_the_same_reason(env, body, expected):
    client, settings = env
    r = client.post("/jobs", json=body, headers=HEADERS)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == expected()
    assert queued(settings) == []


@pytest.mark.parametrize("body, fragment", [
    ({"epic_key": "ER-1", "dry_run": "yes"}, "dry_run"),
    ({"epic_key": "ER-1", "dry_run": 1}, "dry_run"),
    ({"epic_key": "ER-1", "dry_run": None}, "dry_run"),
    ({"epic_key": "ER-1", "write_back": 3}, "write_back"),
    ({"epic_key": "ER-1", "formats": "md"}, "formats"),
    ({"epic_key": "ER-1", "formats": [1]}, "formats"),
    ({"epic_key": "ER-1", "dryrun": True}, "dryrun"),
    ({"epic_key": 1}, "epic_key"),
    ({}, "epic_key"),
])
def test_post_jobs_refuses_a_wrongly_typed_body_with_a_400_naming_the_field(env, body, fragment):
    client, settings = env
    r = client.post("/jobs", json=body, headers=HEADERS)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and fragment in detail and "\n" not in detail
    assert queued(settings) == []


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b'{"epic_key": ' + b"[" * 100_000 + b"]" * 100_000
                                 + b"}", b"[]", b"null", b'"ER-1"', b"not json", b"\xff"])
def test_post_jobs_with_an_absurd_body_is_400(env, raw):
    client, settings = env
    r = client.post("/jobs", content=raw, headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert isinstance(r.json()["detail"], str) and "Redis" not in r.json()["detail"]
    assert queued(settings) == []


def test_post_jobs_still_queues_good_requests_with_their_options(env):
    client, settings = env
    r = client.post("/jobs", json={"epic_key": "er-8", "write_back": "comment", "dry_run": True,
                                   "formats": ["json", "MD", "json"]}, headers=HEADERS)
    assert r.status_code == 202, r.text
    assert r.json()["epic_key"] == "ER-8"
    (msg,) = queued(settings)
    kwargs = json.loads(__import__("base64").b64decode(msg["body"]))[1]
    assert kwargs["write_back"] == "comment" and kwargs["dry_run"] is True and kwargs["formats"] == ["json", "md"]

"""The webhook receiver and job API, in process, against the real Redis (DB 5).

No worker runs here: a queued job stays in the broker queue, so the tests can count exactly what
was enqueued. The worker side is in test_workers_e2e.py."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient

from support.service import cleanup, encode, free_port, issue_event, make_settings, redis_client, sign, unique_prefix
from workers.celery_wire import queue_key

DB = 5
SECRET = "s3cret-webhook"
API_KEY = "k3y-for-jobs"


@pytest.fixture
def env(tmp_path):
    prefix = unique_prefix("api")
    settings = make_settings(DB, prefix, webhook_secret=SECRET, api_key=API_KEY, data_dir=tmp_path / "data")
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        yield client, settings
    cleanup(DB, prefix)


def _r() -> redis.Redis:
    return redis_client(DB)


def queued_messages(settings) -> list[dict]:
    raw = _r().lrange(queue_key(settings), 0, -1)
    return [json.loads(m) for m in raw]


def post(client, body: dict | bytes, *, secret: str | None = SECRET, delivery: str | None = None, signature=None):
    raw = body if isinstance(body, bytes) else encode(body)
    headers = {"Content-Type": "application/json",
               "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4())}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    elif secret:
        headers["X-Hub-Signature"] = sign(secret, raw)
    return client.post("/webhooks/jira", content=raw, headers=headers)


def test_signed_story_update_is_queued_for_its_epic(env):
    client, settings = env
    r = post(client, issue_event("ER-2", parent="ER-1"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["outcome"] == "enqueued" and body["epic_key"] == "ER-1" and body["issue_key"] == "ER-2"
    msgs = queued_messages(settings)
    assert len(msgs) == 1
    assert msgs[0]["headers"]["id"] == body["job_id"]
    assert msgs[0]["headers"]["task"] == "casewright.generate_epic"


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_missing_or_wrong_signature_is_401_and_queues_nothing(env, signature):
    client, settings = env
    body = issue_event("ER-2")
    if signature is None:
        r = post(client, body, secret=None)
    else:
        r = post(client, body, signature=signature)
    assert r.status_code == 401
    assert "X-Hub-Signature" in r.json()["detail"]
    # signed with another secret
    r2 = post(client, body, secret="not-the-secret")
    assert r2.status_code == 401
    assert queued_messages(settings) == []


def test_signature_covers_the_exact_raw_body(env):
    client, settings = env
    raw = encode(issue_event("ER-2"))
    sig = sign(SECRET, raw)
    tampered = raw.replace(b"ER-2", b"ER-3")
    r = post(client, tampered, signature=sig)
    assert r.status_code == 401


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"hello": "world"}',
                                 b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "ER-2"}}',
                                 b'{"webhookEvent": "jira:issue_created", "issue": "ER-2"}'])
def test_a_body_that_is_not_a_jira_webhook_is_400(env, raw):
    client, settings = env
    r = post(client, raw)
    assert r.status_code == 400
    assert "Jira" in r.json()["detail"]
    assert queued_messages(settings) == []


def test_same_delivery_twice_is_handled_once(env):
    client, settings = env
    body = issue_event("ER-3", parent="ER-1")
    first = post(client, body, delivery="delivery-abc")
    second = post(client, body, delivery="delivery-abc")
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    assert second.json()["job_id"] == first.json()["job_id"]
    assert len(queued_messages(settings)) == 1
    # the de-duplication key expires (Jira retries for up to half an hour)
    ttl = _r().ttl(f"{settings.redis_prefix}:delivery:delivery-abc")
    assert 0 < ttl <= settings.webhook_dedupe_ttl_s


def test_a_resent_delivery_that_joined_a_job_and_an_ignored_one_are_duplicates(env):
    client, settings = env
    first = post(client, issue_event("ER-3", parent="ER-1")).json()
    joined = post(client, issue_event("ER-4", parent="ER-1"), delivery="joined-1")
    again = post(client, issue_event("ER-4", parent="ER-1"), delivery="joined-1")
    assert joined.json()["outcome"] == "coalesced" and joined.json()["job_id"] == first["job_id"]
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["job_id"] == first["job_id"]
    assert int(_r().hget(f"{settings.redis_prefix}:job:{first['job_id']}", "triggers")) == 2  # not 3
    epic = issue_event("ER-9", event="jira:issue_created", issue_type="Epic", parent=None)
    ignored = post(client, epic, delivery="epic-1")
    resent = post(client, epic, delivery="epic-1")
    assert ignored.json()["outcome"] == "ignored"
    assert resent.json()["outcome"] == "duplicate" and resent.json()["job_id"] is None
    assert len(queued_messages(settings)) == 1


def test_redis_down_answers_503_and_the_retry_is_processed(tmp_path):
    prefix = unique_prefix("api-down")
    dead = make_settings(DB, prefix, webhook_secret=SECRET, data_dir=tmp_path / "d",
                         redis_url=f"redis://127.0.0.1:{free_port()}/{DB}")
    from workers.api import create_app

    body = issue_event("ER-3", parent="ER-1")
    with TestClient(create_app(dead)) as down:
        assert post(down, body, delivery="retry-1").status_code == 503
    live = make_settings(DB, prefix, webhook_secret=SECRET, data_dir=tmp_path / "d")
    try:
        with TestClient(create_app(live)) as up:  # Jira's retry, once Redis is back
            r = post(up, body, delivery="retry-1")
        assert r.status_code == 202 and r.json()["outcome"] == "enqueued"
        assert len(queued_messages(live)) == 1
    finally:
        cleanup(DB, prefix)


def test_twenty_concurrent_deliveries_for_one_epic_queue_one_job(env):
    client, settings = env
    bodies = [issue_event(f"ER-{n}", parent="ER-1") for n in range(2, 22)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda b: post(client, b), bodies))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    outcomes = [r.json()["outcome"] for r in responses]
    assert outcomes.count("enqueued") == 1 and outcomes.count("coalesced") == 19
    assert len({r.json()["job_id"] for r in responses}) == 1
    assert len(queued_messages(settings)) == 1
    job = _r().hgetall(f"{settings.redis_prefix}:job:{responses[0].json()['job_id']}")
    assert int(job[b"triggers"]) == 20


def test_different_epics_get_their_own_jobs(env):
    client, settings = env
    a = post(client, issue_event("ER-2", parent="ER-1")).json()
    b = post(client, issue_event("ER-8", parent="ER-7")).json()
    c = post(client, issue_event("ER-7", issue_type="Epic", parent=None)).json()
    assert a["epic_key"] == "ER-1" and b["epic_key"] == "ER-7" and c["epic_key"] == "ER-7"
    assert a["job_id"] != b["job_id"] and c["outcome"] == "coalesced" and c["job_id"] == b["job_id"]
    assert len(queued_messages(settings)) == 2


def test_data_center_epic_link_field_maps_a_story_to_its_epic(env):
    client, settings = env
    body = issue_event("ER-4", parent=None, extra_fields={"customfield_10101": "ER-9", "customfield_1": "text"})
    r = post(client, body)
    assert r.status_code == 202 and r.json()["epic_key"] == "ER-9"
    orphan = post(client, issue_event("ER-5", parent=None)).json()
    assert orphan["outcome"] == "ignored" and "no epic" in orphan["reason"]


@pytest.mark.parametrize("body, reason", [
    (issue_event("ER-2", event="comment_created"), "not an issue"),
    (issue_event("ER-2", event="jira:issue_deleted"), "not an issue"),
    (issue_event("ER-2", issue_type="Test"), "issue type"),
    (issue_event("ER-2", changes=[{"field": "assignee", "fromString": "a", "toString": "b"}]), "no change"),
    (issue_event("ER-2", changes=[{"field": "Link", "toString": "This issue is tested by ER-99"}]), "no change"),
    (issue_event("ER-2", changes=[{"field": "status", "fromString": "To Do", "toString": "In Progress"}]),
     "no change"),
    (issue_event("ER-2", changes=[]), "no change"),
    (issue_event("ER-40", event="jira:issue_created", issue_type="Epic", parent=None), "new epic"),
])
def test_filtered_deliveries_are_ignored_with_a_reason(env, body, reason):
    client, settings = env
    r = post(client, body)
    assert r.status_code == 200
    assert r.json()["outcome"] == "ignored" and reason in r.json()["reason"]
    assert queued_messages(settings) == []


@pytest.mark.parametrize("change", [
    {"field": "Acceptance Criteria", "fieldId": "customfield_10050", "fromString": "a", "toString": "b"},
    {"field": "description", "fieldId": "description", "fromString": "a", "toString": "b"},
    {"field": "summary", "fieldId": "summary", "fromString": "a", "toString": "b"},
])
def test_changes_to_criteria_description_or_summary_trigger(env, change):
    client, settings = env
    r = post(client, issue_event("ER-2", changes=[change]))
    assert r.status_code == 202 and r.json()["outcome"] == "enqueued"


def test_a_created_story_triggers_without_a_changelog(env):
    client, settings = env
    r = post(client, issue_event("ER-30", event="jira:issue_created"))
    assert r.status_code == 202 and r.json()["epic_key"] == "ER-1"


def test_configured_project_label_and_status_filters(tmp_path):
    prefix = unique_prefix("filters")
    settings = make_settings(DB, prefix, webhook_secret=None, webhook_projects=["ER"],
                             webhook_labels=["uat"], webhook_statuses=["Ready for QA"],
                             ac_field_name="Business Acceptance", data_dir=tmp_path)
    from workers.api import create_app

    try:
        with TestClient(create_app(settings)) as client:
            def outcome(body):
                r = post(client, body, secret=None)
                return r.status_code, r.json().get("outcome"), r.json().get("reason")

            ready = {"labels": ["uat"], "status": "Ready for QA"}
            transition = [{"field": "status", "fromString": "In Progress", "toString": "Ready for QA"}]
            assert outcome(issue_event("PAY-2", parent="PAY-1", changes=transition, **ready))[2].startswith("project")
            assert "LABELS" in outcome(issue_event("ER-2", changes=transition, status="Ready for QA"))[2]
            assert "STATUSES" in outcome(issue_event("ER-2", changes=transition, labels=["uat"]))[2]
            # the configured AC field name, not the default one
            ac_default = [{"field": "Acceptance Criteria", "toString": "x"}]
            assert outcome(issue_event("ER-2", changes=ac_default, **ready))[1] == "ignored"
            ac_custom = [{"field": "Business Acceptance", "toString": "x"}]
            assert outcome(issue_event("ER-2", changes=ac_custom, **ready))[:2] == (202, "enqueued")
            # a transition into a watched status triggers (and joins the queued job for the epic)
            assert outcome(issue_event("ER-3", changes=transition, **ready))[:2] == (202, "coalesced")
            # adding a watched label triggers
            label_added = [{"field": "labels", "fromString": "", "toString": "uat"}]
            assert outcome(issue_event("ER-4", parent="ER-40", changes=label_added, **ready))[:2] == (202, "enqueued")
    finally:
        cleanup(DB, prefix)


def test_unsigned_deliveries_are_accepted_when_no_secret_is_set(tmp_path):
    prefix = unique_prefix("nosecret")
    settings = make_settings(DB, prefix, webhook_secret=None, data_dir=tmp_path)
    from workers.api import create_app

    try:
        with TestClient(create_app(settings)) as client:
            assert post(client, issue_event("ER-2"), secret=None).status_code == 202
    finally:
        cleanup(DB, prefix)


def test_job_endpoints_need_the_api_key(env):
    client, settings = env
    job_id = post(client, issue_event("ER-2")).json()["job_id"]
    assert client.get(f"/jobs/{job_id}").status_code == 401
    assert client.get(f"/jobs/{job_id}", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get(f"/jobs/{job_id}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = client.get(f"/jobs/{job_id}", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200
    st = r.json()
    assert st["state"] == "QUEUED" and st["epic_key"] == "ER-1" and st["trigger"] == "webhook"
    assert client.get(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
    assert client.get("/jobs/no-such-job", headers={"X-API-Key": API_KEY}).status_code == 404


def test_post_jobs_queues_and_coalesces(env):
    client, settings = env
    h = {"X-API-Key": API_KEY}
    assert client.post("/jobs", json={"epic_key": "ER-1"}).status_code == 401
    a = client.post("/jobs", json={"epic_key": "ER-1", "write_back": "issues"}, headers=h)
    b = client.post("/jobs", json={"epic_key": "er-1"}, headers=h)
    assert a.status_code == 202 and not a.json()["coalesced"]
    assert b.json() == {"job_id": a.json()["job_id"], "epic_key": "ER-1", "coalesced": True}
    assert client.post("/jobs", json={"epic_key": "ER-1", "write_back": "everything"}, headers=h).status_code == 400
    msgs = queued_messages(settings)
    assert len(msgs) == 1


def test_job_endpoints_are_closed_without_a_configured_key(tmp_path):
    prefix = unique_prefix("nokey")
    from workers.api import create_app

    try:
        with TestClient(create_app(make_settings(DB, prefix, api_key=None, data_dir=tmp_path))) as client:
            r = client.get("/jobs/x", headers={"X-API-Key": "anything"})
            assert r.status_code == 503 and "CASEWRIGHT_API_KEY" in r.json()["detail"]
    finally:
        cleanup(DB, prefix)


def test_healthz_ok_with_redis_and_503_when_redis_is_down(env, tmp_path):
    client, settings = env
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.json()["checks"]["redis"]["ok"] is True
    # a port with no Redis behind it
    dead = free_port()
    from workers.api import create_app

    down = make_settings(DB, settings.redis_prefix, data_dir=tmp_path)
    down = down.model_copy(update={"redis_url": f"redis://127.0.0.1:{dead}/5"})
    with TestClient(create_app(down)) as c2:
        h = c2.get("/healthz")
        assert h.status_code == 503
        assert h.json()["status"] == "unavailable"
        assert h.json()["checks"]["redis"]["ok"] is False
        assert "Redis unreachable" in h.json()["checks"]["redis"]["detail"]
        assert h.json()["checks"]["store"]["ok"] is True
        # a delivery cannot be queued: 503 so that Jira retries it later
        w = post(c2, issue_event("ER-2"), secret=None)
        assert w.status_code == 503
        metrics = c2.get("/metrics").text
        assert "casewright_redis_up 0.0" in metrics


def test_healthz_reports_an_unreachable_qdrant_server(tmp_path):
    prefix = unique_prefix("qdrant")
    from workers.api import create_app

    settings = make_settings(DB, prefix, data_dir=tmp_path, qdrant_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        h = client.get("/healthz")
        assert h.status_code == 503
        assert h.json()["checks"]["redis"]["ok"] is True and h.json()["checks"]["store"]["ok"] is False


def test_metrics_count_deliveries_by_outcome_and_jobs(env):
    client, settings = env
    post(client, issue_event("ER-2"), delivery="m-1")
    post(client, issue_event("ER-2"), delivery="m-1")
    post(client, issue_event("ER-2", issue_type="Bug"))
    post(client, issue_event("ER-2"), secret=None)
    post(client, b"{}")
    text = client.get("/metrics").text
    assert 'casewright_webhook_deliveries_total{outcome="enqueued"} 1.0' in text
    assert 'casewright_webhook_deliveries_total{outcome="duplicate"} 1.0' in text
    assert 'casewright_webhook_deliveries_total{outcome="ignored"} 1.0' in text
    assert 'casewright_webhook_deliveries_total{outcome="unauthorized"} 1.0' in text
    assert 'casewright_webhook_deliveries_total{outcome="invalid"} 1.0' in text
    assert 'casewright_jobs_total{state="queued"} 1.0' in text
    assert "casewright_queue_length 1.0" in text
    assert "casewright_webhook_seconds_bucket" in text and "casewright_job_duration_seconds_bucket" in text


def test_openapi_describes_every_endpoint(env):
    client, settings = env
    doc = client.get("/openapi.json").json()
    expected = {("/webhooks/jira", "post"): {"200", "202", "400", "401", "503"},
                ("/jobs", "post"): {"202", "400", "401"},
                ("/jobs/{job_id}", "get"): {"200", "401", "404"},
                ("/healthz", "get"): {"200", "503"},
                ("/metrics", "get"): {"200"}}
    for (path, method), codes in expected.items():
        op = doc["paths"][path][method]
        assert op.get("summary"), (path, method)
        assert codes <= set(op["responses"]), (path, method, set(op["responses"]))
        for code in codes:
            assert op["responses"][code].get("description"), (path, method, code)
    schemas = doc["components"]["schemas"]
    for name in ("DeliveryResult", "JobState", "JobQueued", "Health", "Problem"):
        assert name in schemas
    assert doc["paths"]["/jobs/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/JobState")
    assert {"APIKeyHeader", "HTTPBearer"} <= set(doc["components"]["securitySchemes"])
    hook = doc["paths"]["/webhooks/jira"]["post"]
    headers = {p["name"]: p for p in hook.get("parameters", []) if p["in"] == "header"}
    assert {"X-Hub-Signature", "X-Atlassian-Webhook-Identifier"} <= set(headers)
    body = hook["requestBody"]["content"]["application/json"]["schema"]
    assert hook["requestBody"]["required"] and "webhookEvent" in body["required"]
    assert {"key", "fields"} <= set(body["properties"]["issue"]["required"])

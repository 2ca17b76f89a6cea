"""Run records: one JSON file per run under <data_dir>/runs/, so runs can be listed, resumed and
approved from another process. The graph's own progress lives in the SQLite checkpoints."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from connectors.errors import CasewrightError


class UnknownRunError(CasewrightError):
    pass


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _dir(data_dir: str | Path) -> Path:
    d = Path(data_dir) / "runs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_run(data_dir: str | Path, run_id: str, **fields: Any) -> dict[str, Any]:
    path = _dir(data_dir) / f"{run_id}.json"
    record = json.loads(path.read_text()) if path.exists() else {"run_id": run_id}
    record.update(fields)
    record["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    tmp.replace(path)
    return record


def load_run(data_dir: str | Path, run_id: str) -> dict[str, Any]:
    path = _dir(data_dir) / f"{run_id}.json"
    if not path.exists():
        raise UnknownRunError(f"unknown run {run_id}; `casewright runs` lists the runs under {Path(data_dir)}")
    return json.loads(path.read_text())


def list_runs(data_dir: str | Path) -> list[dict[str, Any]]:
    records = [json.loads(p.read_text()) for p in _dir(data_dir).glob("*.json")]
    return sorted(records, key=lambda r: r.get("started_at", ""), reverse=True)

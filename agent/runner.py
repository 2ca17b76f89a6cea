"""Running the agent: the one call the CLI and the workers use.

`generate_epic` runs (or resumes) the graph for one epic with SQLite checkpoints under the data
directory, thread id = "<epic key>:<run id>", records the run (agent/runs.py), and reports
progress. The caller passes what the run is asked to do (Configuration) and what it may use
(Services); both are built from the settings by `Configuration.from_settings` and
`Services.from_settings` on every path."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agent import models
from agent.configuration import Configuration
from agent.context import RunContext, Services
from agent.graph import compile_graph
from agent.runs import load_run, new_run_id, save_run
from connectors.errors import CasewrightError

Progress = Callable[[str, dict[str, Any]], None]
_STATE_TYPES = [models.Epic, models.Story, models.AcceptanceCriterion, models.Parameter, models.Page,
                models.Step, models.UATCase, models.SourceRef, models.Finding, models.CriterionCoverage,
                models.Flow, models.CaseSet]


@dataclass
class RunResult:
    run_id: str
    epic_key: str
    status: str  # done, interrupted (waiting for approval)
    summary: dict[str, Any] = field(default_factory=dict)
    report_paths: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


def thread_id(epic_key: str, run_id: str) -> str:
    return f"{epic_key}:{run_id}"


@contextmanager
def checkpointer(data_dir: str | Path) -> Iterator[SqliteSaver]:
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path / "checkpoints.sqlite", check_same_thread=False, timeout=30)
    try:
        saver = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES))
        saver.setup()
        yield saver
    finally:
        conn.close()


def has_checkpoint(data_dir: str | Path, epic_key: str, run_id: str) -> bool:
    """Whether the graph saved any state for this run (else a resume would have nothing to
    continue; e.g. a checkpoint directory not shared with the machine a job died on)."""
    with checkpointer(data_dir) as saver:
        return saver.get_tuple({"configurable": {"thread_id": thread_id(epic_key, run_id)}}) is not None


def _run_config(epic_key: str, run_id: str, concurrency: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id(epic_key, run_id)},
            "max_concurrency": concurrency, "recursion_limit": 200}


def generate_epic(epic_key: str, cfg: Configuration | None = None, services: Services | None = None, *,
                  run_id: str | None = None, resume: bool = False, progress: Progress | None = None,
                  concurrency: int = 8, resume_value: Any = None) -> RunResult:
    """Run the graph for `epic_key`, or continue run `run_id` from its last checkpoint when resume
    (then with the configuration the run was started with)."""
    cfg = cfg or Configuration()
    if resume:
        if not run_id:
            raise CasewrightError("--resume needs a run id (see `casewright runs`)")
        record = load_run(cfg.data_dir, run_id)
        if record.get("epic_key") != epic_key:
            raise CasewrightError(f"run {run_id} is for epic {record.get('epic_key')}, not {epic_key}")
        cfg = Configuration.from_record(record.get("config") or {}, data_dir=cfg.data_dir, fail_at=cfg.fail_at,
                                        llm_unavailable=cfg.llm_unavailable)
    run_id = run_id or new_run_id()
    save_run(cfg.data_dir, run_id, epic_key=epic_key, status="running", config=cfg.as_record(),
             **({} if resume else {"started_at": models._now()}))
    graph_input: Any = None if resume else {"epic_key": epic_key, "run_id": run_id}
    if resume_value is not None:
        from langgraph.types import Command

        graph_input = Command(resume=resume_value)
    with checkpointer(cfg.data_dir) as saver:
        graph = compile_graph(saver)
        config = _run_config(epic_key, run_id, concurrency)
        context = RunContext(cfg, services)
        if resume and resume_value is None:
            snapshot = graph.get_state(config)
            if not snapshot.next and snapshot.values.get("summary"):
                save_run(cfg.data_dir, run_id, status="done")
                return _result(run_id, epic_key, "done", snapshot.values)
        try:
            for update in graph.stream(graph_input, config, context=context, stream_mode="updates"):
                if progress:
                    cached = bool((update.get("__metadata__") or {}).get("cached"))
                    for node, value in update.items():
                        if node == "__metadata__":
                            continue
                        value = dict(value) if isinstance(value, dict) else {}
                        if cached:
                            value["cached"] = True  # replayed from the checkpoint, not run again
                        progress(node.split(":")[0], value)
        except CasewrightError:
            save_run(cfg.data_dir, run_id, status="failed")
            raise
        except Exception as exc:
            save_run(cfg.data_dir, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        snapshot = graph.get_state(config)
        status = "interrupted" if snapshot.next else "done"
        # an approval request (agent/nodes/approve.py) carries the preview: figures and report paths
        pending = [i.value for t in snapshot.tasks for i in (t.interrupts or ()) if isinstance(i.value, dict)]
        request = pending[0] if pending else {}
        decision = (snapshot.values.get("approval") or {}).get("status")
        record_status = ("waiting-approval" if status == "interrupted"
                         else "rejected" if decision == "rejected" else "done")
        save_run(cfg.data_dir, run_id, status=record_status,
                 summary=snapshot.values.get("summary") or request.get("summary"),
                 report_paths=snapshot.values.get("report_paths") or request.get("report_paths"),
                 approval=snapshot.values.get("approval"),
                 **({"finished_at": models._now()} if status == "done" else {}))
        if status == "done":
            _prune(saver, config)
        result = _result(run_id, epic_key, status, snapshot.values)
        if request:
            result.summary = result.summary or dict(request.get("summary") or {})
            result.report_paths = result.report_paths or list(request.get("report_paths") or [])
        return result


def _prune(saver: SqliteSaver, config: dict[str, Any]) -> None:
    """A finished run keeps only its final checkpoint, so the database does not grow with every step."""
    latest = saver.get_tuple(config)
    if latest is None:
        return
    thread = latest.config["configurable"]["thread_id"]
    keep = latest.config["configurable"]["checkpoint_id"]
    with saver.lock, saver.conn:
        saver.conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <> ?", (thread, keep))
        saver.conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id <> ?", (thread, keep))


def _result(run_id: str, epic_key: str, status: str, values: dict[str, Any]) -> RunResult:
    return RunResult(run_id=run_id, epic_key=epic_key, status=status, summary=values.get("summary") or {},
                     report_paths=values.get("report_paths") or [], state=dict(values))

"""Running the agent: the one call the CLI and the workers use.

`generate_epic` runs (or resumes) the graph for one epic with SQLite checkpoints under the data
directory, thread id = "<epic key>:<run id>", records the run (agent/runs.py), and reports
progress. The caller passes what the run is asked to do (Configuration) and what it may use
(Services); both are built from the settings by `Configuration.from_settings` and
`Services.from_settings` on every path.

A run waiting for approval can be read (`run_snapshot`), have its cases edited or dropped by a
reviewer (`edit_run`, `drop_case`: written into its checkpoint as the `edit` node, so it waits at
the approval again) and be decided on (`start_decision`, then `generate_epic(..., resume=True,
resume_value=decision)`), from the command line or the review pages alike."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.runtime import Runtime

from agent import models
from agent.checkpoint_serde import TextOnceSerializer, drop_unused_texts
from agent.checkpoint_store import BatchedSqliteSaver, connect
from agent.configuration import Configuration
from agent.context import RunContext, Services
from agent.edits import apply_edit, describe, mark_edited
from agent.graph import compile_graph
from agent.llm.provider import RULES
from agent.nodes.approve import normalise_decision
from agent.nodes.review import review
from agent.runs import NotWaiting, load_run, new_run_id, run_lock, save_run, waiting_run
from connectors.data_dir import ensure_data_dir
from connectors.errors import CasewrightError

Progress = Callable[[str, dict[str, Any]], None]
_STATE_TYPES = [models.Epic, models.Story, models.AcceptanceCriterion, models.Parameter, models.Page,
                models.Step, models.UATCase, models.SourceRef, models.Finding, models.CriterionCoverage,
                models.Flow, models.CaseSet, models.ExistingTest, models.CriterionLink, models.StaleTest]


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
def checkpointer(data_dir: str | Path) -> Iterator[BatchedSqliteSaver]:
    path = ensure_data_dir(data_dir)
    conn = connect(path / "checkpoints.sqlite")
    saver = None
    try:
        serde = TextOnceSerializer(JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES), conn)
        # large inputs stored once (agent/checkpoint_serde.py), branches' writes committed in batches
        saver = BatchedSqliteSaver(conn, serde=serde)
        saver.setup()
        yield saver
    finally:
        try:
            if saver is not None:
                saver.close()  # also after an error: what the finished branches wrote is kept
        finally:
            conn.close()


def has_checkpoint(data_dir: str | Path, epic_key: str, run_id: str) -> bool:
    """Whether the graph saved any state for this run (else a resume would have nothing to
    continue; e.g. a checkpoint directory not shared with the machine a job died on)."""
    with checkpointer(data_dir) as saver:
        return saver.get_tuple({"configurable": {"thread_id": thread_id(epic_key, run_id)}}) is not None


def _uses_model(cfg: Configuration, services: Services | None) -> bool:
    return (services is not None and services.chat_model is not None) or (cfg.model or "").strip().lower() not in ("", RULES)


def task_limit(concurrency: int, uses_model: bool) -> int:
    """LangGraph's `max_concurrency` for a run of `concurrency` (CASEWRIGHT_CONCURRENCY).

    `concurrency` caps the story branches: with a model, each generate or revise branch holds one
    of the run's `concurrency` story slots around its model call (RunContext.story_slot). The
    epic's plan call runs in the same step, beside them (agent/graph.py), and gets a place of its
    own so that it never waits for a branch: at most concurrency + 1 model calls are in flight;
    the provider's requests and tokens per minute settings bound the rest. With the rules every
    task is CPU work in this one process: `concurrency` tasks."""
    return concurrency + (1 if uses_model else 0)


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
    context = RunContext(cfg, services, story_slots=concurrency)
    context.template  # a broken house template is one clear error before the run starts, not a crash mid-run
    run_id = run_id or new_run_id()
    save_run(cfg.data_dir, run_id, epic_key=epic_key, status="running", config=cfg.as_record(),
             **({} if resume else {"started_at": models._now()}))
    graph_input: Any = None if resume else {"epic_key": epic_key, "run_id": run_id}
    if resume_value is not None:
        from langgraph.types import Command

        graph_input = Command(resume=resume_value)
    with checkpointer(cfg.data_dir) as saver:
        graph = compile_graph(saver)
        config = _run_config(epic_key, run_id, task_limit(concurrency, _uses_model(cfg, services)))
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
        except CasewrightError as exc:
            save_run(cfg.data_dir, run_id, status="failed", error=str(exc))
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
            _prune(saver, snapshot.config)
        result = _result(run_id, epic_key, status, snapshot.values)
        if request:
            result.summary = result.summary or dict(request.get("summary") or {})
            result.report_paths = result.report_paths or list(request.get("report_paths") or [])
        return result


def _prune(saver: BatchedSqliteSaver, latest: dict[str, Any]) -> None:
    """A finished run keeps only its final checkpoint (`latest`, the config of the state just read),
    so the database does not grow with every step."""
    thread = (latest.get("configurable") or {}).get("thread_id")
    keep = (latest.get("configurable") or {}).get("checkpoint_id")
    if not (thread and keep):
        return
    saver.keep_only(thread, keep)
    with saver.lock, saver.conn:
        drop_unused_texts(saver.conn)


def _result(run_id: str, epic_key: str, status: str, values: dict[str, Any]) -> RunResult:
    return RunResult(run_id=run_id, epic_key=epic_key, status=status, summary=values.get("summary") or {},
                     report_paths=values.get("report_paths") or [], state=dict(values))


# -- a run waiting for approval: read it, edit it, decide on it --------------------------------------
class RunChanged(CasewrightError):
    """The run changed since the caller read it (another reviewer's edit or decision)."""


def run_snapshot(data_dir: str | Path, run_id: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A run's record, the state in its latest checkpoint (empty when it has none) and that
    checkpoint's id, the version an edit or a decision may insist on (`version=`)."""
    record = load_run(data_dir, run_id)
    with checkpointer(data_dir) as saver:
        snapshot = compile_graph(saver).get_state(_run_config(record.get("epic_key", ""), run_id, 1))
    return record, dict(snapshot.values or {}), _version(snapshot)


def _version(snapshot: Any) -> str:
    return str(((snapshot.config or {}).get("configurable") or {}).get("checkpoint_id") or "")


def _check_version(snapshot: Any, version: str | None, run_id: str) -> None:
    if version and version != _version(snapshot):
        raise RunChanged(f"run {run_id} changed since you read it (another reviewer's edit?); "
                         "reload it and try again")


def edit_run(data_dir: str | Path, run_id: str, case_id: str, changes: dict[str, Any], *, by: str,
             version: str | None = None, services: Services | None = None) -> dict[str, Any] | None:
    """Apply a reviewer's changes (agent/edits.py) to one case of a run waiting for approval; the
    write-back then uses the edited case. Returns the edit as recorded in the run record's `edits`
    (who, when, what changed), or None when nothing changed."""
    def change(cases: list[models.UATCase], ctx: RunContext, at: str):
        case = _find_case(cases, case_id, run_id)
        edited, changed = apply_edit(case, changes, ctx.template)
        if not changed:
            return cases, None
        edited = mark_edited(edited, changed, by=by, at=at)
        return ([edited if c.id == case_id else c for c in cases],
                {"action": "edit", "case_id": case_id, "title": edited.title, "what": describe(changed),
                 "changes": changed})
    return _rewrite_cases(data_dir, run_id, change, by=by, version=version, services=services)


def drop_case(data_dir: str | Path, run_id: str, case_id: str, *, by: str, version: str | None = None,
              services: Services | None = None) -> dict[str, Any] | None:
    """Remove one case from a run waiting for approval: it is neither reported nor written back."""
    def change(cases: list[models.UATCase], ctx: RunContext, at: str):
        case = _find_case(cases, case_id, run_id)
        return [c for c in cases if c.id != case_id], {"action": "drop", "case_id": case_id, "title": case.title}
    return _rewrite_cases(data_dir, run_id, change, by=by, version=version, services=services)


def _find_case(cases: list[models.UATCase], case_id: str, run_id: str) -> models.UATCase:
    found = next((c for c in cases if c.id == case_id), None)
    if found is None:
        raise CasewrightError(f"run {run_id} has no case {case_id[:80]!r}")
    return found


def _rewrite_cases(data_dir: str | Path, run_id: str, change: Callable[..., Any], *, by: str,
                   version: str | None, services: Services | None) -> dict[str, Any] | None:
    """Under the run's lock: change its cases, review them again (coverage, template, groundedness,
    as the review node does), write both into the checkpoint as the `edit` node, record the edit,
    and run on to the approval again, which writes a fresh preview and waits."""
    with run_lock(data_dir, run_id):
        record = waiting_run(data_dir, run_id)
        epic_key = record["epic_key"]
        cfg = Configuration.from_record(record.get("config") or {}, data_dir=str(data_dir), fail_at=None)
        ctx = RunContext(cfg, services)
        with checkpointer(data_dir) as saver:
            graph = compile_graph(saver)
            config = _run_config(epic_key, run_id, 1)
            snapshot = graph.get_state(config)
            if tuple(snapshot.next) != ("approve",):
                raise NotWaiting(f"run {run_id} has no approval pending in its checkpoint; "
                                 f"`casewright generate {epic_key} --resume {run_id}` brings it back to it")
            _check_version(snapshot, version, run_id)
            at = models._now()
            before = list(snapshot.values.get("cases") or [])
            cases, entry = change(before, ctx, at)
            if entry is None:
                return None
            reviewed = review({**snapshot.values, "cases": cases}, Runtime(context=ctx))
            stories = sorted({c.story_key for c in before})
            graph.update_state(config, {"cases": {"replace_stories": stories, "cases": cases},
                                        "findings": reviewed["findings"], "coverage": reviewed["coverage"]},
                               as_node="edit")
        entry = {**entry, "by": by, "at": at}
        save_run(data_dir, run_id, edits=[*(record.get("edits") or []), entry])
        generate_epic(epic_key, Configuration(data_dir=str(data_dir)), services, run_id=run_id, resume=True)
    return entry


def start_decision(data_dir: str | Path, run_id: str, *, approved: bool, reason: str = "", by: str = "",
                   version: str | None = None) -> tuple[str, dict[str, Any]]:
    """Check that a run waits for approval and claim it for this decision (its record says
    `running` from here on, so a second decision or an edit is refused). Returns the epic key and
    the decision to resume it with: `generate_epic(epic, cfg, services, run_id=run_id, resume=True,
    resume_value=decision)`."""
    with run_lock(data_dir, run_id):
        record = waiting_run(data_dir, run_id)
        if version:
            with checkpointer(data_dir) as saver:
                snapshot = compile_graph(saver).get_state(_run_config(record["epic_key"], run_id, 1))
            _check_version(snapshot, version, run_id)
        decision = normalise_decision({"approved": approved, "reason": reason, "by": by})
        save_run(data_dir, run_id, status="running")
    return record["epic_key"], decision

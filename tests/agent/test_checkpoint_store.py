"""Batched checkpoint writes (agent/checkpoint_store.py) and the serializer's fast path
(agent/checkpoint_serde.py): writes reach the database in batches, on a timer, with a checkpoint and
on close; a run killed outright mid fan-out resumes with every story's cases exactly once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent.checkpoint_serde import LARGE_TEXT, TextOnceSerializer, _may_hold_large_text
from agent.configuration import Configuration
from agent.models import Story
from agent.runner import _STATE_TYPES, checkpointer, generate_epic
from connectors.emulators.openai_chat import OpenAIStub

ROOT = Path(__file__).resolve().parents[2]


def _writes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0]


def _config(checkpoint_id: str = "c1") -> dict:
    return {"configurable": {"thread_id": "T:1", "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}


def test_writes_are_committed_after_flush_s_and_on_close_not_one_by_one(tmp_path):
    db = tmp_path / "checkpoints.sqlite"
    with checkpointer(tmp_path) as saver:
        saver.flush_s = 0.3
        for n in range(5):
            saver.put_writes(_config(), [("cases", [f"case {n}"])], task_id=f"task-{n}")
        assert _writes(db) == 0  # another connection sees nothing yet
        time.sleep(0.6)
        assert _writes(db) == 5 and saver.commits == 1  # one transaction for the five branches
        saver.put_writes(_config(), [("cases", ["late"])], task_id="task-late")
    assert _writes(db) == 6  # closing the saver committed the last one


def test_a_read_sees_the_writes_still_in_memory(tmp_path):
    with checkpointer(tmp_path) as saver:
        saver.flush_s = 60
        saver.put_writes(_config(), [("cases", ["x"])], task_id="t")
        assert _writes(tmp_path / "checkpoints.sqlite") == 0
        saver.get_tuple(_config())
        assert _writes(tmp_path / "checkpoints.sqlite") == 1


def test_the_fast_path_finds_every_large_text_and_skips_states_without_one():
    inner = JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES)
    small = {"usage": {f"generate:S-{n}": {"seconds": n / 7, "calls": n} for n in range(5000)},
             "names": ["ـصـ" * 10 for _ in range(2000)]}  # floats' bytes and Arabic text look like headers
    assert len(inner.dumps_typed(small)[1]) > LARGE_TEXT
    assert not _may_hold_large_text(*inner.dumps_typed(small))
    for text in ("a" * LARGE_TEXT, "ص" * LARGE_TEXT, "x" * 70_000):
        story = Story(key="S-1", summary="s", description=text)
        assert _may_hold_large_text(*inner.dumps_typed({**small, "stories": [story]}))
    conn = sqlite3.connect(":memory:")
    serde = TextOnceSerializer(inner, conn)
    big = Story(key="S-2", summary="s", description="é" * (LARGE_TEXT + 1))
    kind, raw = serde.dumps_typed({"stories": [big]})
    assert len(raw) < LARGE_TEXT and serde.loads_typed((kind, raw))["stories"][0].description == big.description


_CHILD = """
import sys
from agent.configuration import Configuration
from agent.runner import generate_epic
cfg = Configuration(source="sample", data_dir=sys.argv[1], out_dir=sys.argv[2], formats=["json"],
                    model="openai-compatible:casewright-stub", max_revise_rounds=0,
                    llm={"model_base_url": sys.argv[3], "llm_retries": 0, "llm_timeout_s": 30})
generate_epic("ER-1", cfg, run_id="killed", concurrency=1)
"""


@pytest.mark.xdist_group("llm_graph")
def test_a_run_killed_mid_fan_out_resumes_with_each_storys_cases_exactly_once(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    with OpenAIStub(latency_s=0.4) as stub:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(data), str(out), stub.base_url], cwd=ROOT)
        try:
            deadline = time.monotonic() + 120
            db = data / "checkpoints.sqlite"
            # wait until some branches' writes are committed (each branch writes cases, findings, usage...)
            while time.monotonic() < deadline and child.poll() is None:
                if db.exists() and len([r for r in stub.requests if r.schema_name == "uat_cases"]) >= 4:
                    break
                time.sleep(0.05)
            assert child.poll() is None, "the run ended before it could be killed"
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        before = len([r for r in stub.requests if r.schema_name == "uat_cases"])
        stub.reset()
        cfg = Configuration(source="sample", data_dir=str(data), out_dir=str(out), formats=["json"],
                            model="openai-compatible:casewright-stub", max_revise_rounds=0,
                            llm={"model_base_url": stub.base_url, "llm_retries": 0, "llm_timeout_s": 30})
        result = generate_epic("ER-1", cfg, run_id="killed", resume=True, concurrency=1)
        again = len([r for r in stub.requests if r.schema_name == "uat_cases"])
    assert result.status == "done"
    stories = {s.key for s in result.state["stories"]}
    ids = [c.id for c in result.state["cases"]]
    assert len(ids) == len(set(ids))  # no case twice
    assert {c.story_key for c in result.state["cases"] if c.kind != "end_to_end"} == stories - {"ER-7"}  # ER-7 has no criteria
    # LangGraph queues a branch's checkpoint writes in the step's own thread pool, behind the
    # branches still waiting, so a kill mid fan-out loses the whole step's writes (as before the
    # batching): every story in scope is generated again, once
    assert before >= 4 and again == len(stories)


def test_each_channel_is_stored_once_per_version_not_with_every_checkpoint(tmp_path):
    """The stories are loaded in one step and written once, though the run checkpoints every step;
    a run crashed in review resumes from those values and a finished run keeps its last version only."""
    from agent.checkpoint_store import BLOBS
    from agent.configuration import InjectedFailure

    data = tmp_path / "data"
    cfg = Configuration(source="sample", data_dir=str(data), out_dir=str(tmp_path / "out"), formats=["json"],
                        fail_at="review")
    with pytest.raises(InjectedFailure):
        generate_epic("ER-1", cfg, run_id="once")
    with sqlite3.connect(data / "checkpoints.sqlite") as conn:
        checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
        stored = dict(conn.execute(f"SELECT channel, COUNT(*) FROM {BLOBS} GROUP BY channel").fetchall())
    assert checkpoints >= 6 and stored["stories"] == 1 and stored["epic"] == 1
    assert stored["cases"] <= 2  # the fan-out's cases, then the journeys added to them

    result = generate_epic("ER-1", Configuration(data_dir=str(data)), run_id="once", resume=True)
    assert result.status == "done" and {s.key for s in result.state["stories"]} >= {"ER-2", "ER-3"}
    ids = [c.id for c in result.state["cases"]]
    assert ids and len(ids) == len(set(ids))
    with sqlite3.connect(data / "checkpoints.sqlite") as conn:
        left = conn.execute(f"SELECT channel, COUNT(*) FROM {BLOBS} GROUP BY channel").fetchall()
    assert left and all(n == 1 for _, n in left)  # pruned to the final checkpoint's versions
    again = generate_epic("ER-1", Configuration(data_dir=str(data)), run_id="once", resume=True)
    assert [c.id for c in again.state["cases"]] == ids


def test_a_checkpoint_written_with_its_values_inline_reads_back(tmp_path):
    """A database from before the values table (LangGraph's own SQLite saver) still resumes."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.graph import compile_graph

    data = tmp_path / "data"
    data.mkdir()
    config = {"configurable": {"thread_id": "ER-8:old"}}
    conn = sqlite3.connect(data / "checkpoints.sqlite", check_same_thread=False)
    plain = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES))
    graph = compile_graph(plain)
    graph.update_state(config, {"epic_key": "ER-8", "run_id": "old", "scope": ["ER-9"]}, as_node="load")
    conn.close()
    with checkpointer(data) as saver:
        values = compile_graph(saver).get_state(config).values
    assert values["epic_key"] == "ER-8" and values["scope"] == ["ER-9"]


def test_the_checkpoint_just_written_reads_back_as_a_fresh_saver_reads_it(tmp_path):
    """The saver keeps the values of the checkpoint it put last (the runner reads them back at the
    end of a run without deserialising them); they are what the database holds."""
    from agent.graph import compile_graph

    config = {"configurable": {"thread_id": "ER-8:kept"}}
    with checkpointer(tmp_path) as saver:
        graph = compile_graph(saver)
        graph.update_state(config, {"epic_key": "ER-8", "run_id": "kept", "scope": ["ER-9"]}, as_node="load")
        graph.update_state(config, {"scope": ["ER-9", "ER-10"]}, as_node="assess")
        kept = graph.get_state(config)
    with checkpointer(tmp_path) as saver:
        read = compile_graph(saver).get_state(config)
    assert kept.values == read.values and read.values["scope"] == ["ER-9", "ER-10"]
    assert kept.config == read.config and kept.next == read.next


def test_each_checkpoint_in_the_history_reads_the_values_of_its_own_versions(tmp_path):
    """An older checkpoint reads the values it had (not the latest): the one after `load` has the
    stories and no cases yet, the one after the fan-out the generated cases, the last one also the
    journeys' end-to-end cases."""
    from agent.configuration import InjectedFailure
    from agent.graph import compile_graph

    data = tmp_path / "data"
    cfg = Configuration(source="sample", data_dir=str(data), out_dir=str(tmp_path / "out"), formats=[],
                        fail_at="review")
    with pytest.raises(InjectedFailure):
        generate_epic("ER-8", cfg, run_id="hist")
    with checkpointer(data) as saver:
        history = list(compile_graph(saver).get_state_history({"configurable": {"thread_id": "ER-8:hist"}}))
    by_next = {snap.next: snap.values for snap in history}
    after_load = by_next[("assess",)]
    assert after_load["stories"] and not after_load.get("cases"), after_load.get("cases")
    fanned = by_next[("journeys",)]["cases"]
    final = by_next[("review",)]["cases"]
    assert fanned and all(c.kind != "end_to_end" for c in fanned)
    assert len(final) > len(fanned) and any(c.kind == "end_to_end" for c in final)

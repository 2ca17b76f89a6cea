"""Checkpointing: an interrupted graph run continues where it stopped, in-process."""

import pytest

from agent.configuration import Configuration, InjectedFailure
from agent.runner import generate_epic


def test_resume_reruns_only_the_branch_that_failed(tmp_path):
    cfg = Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json"], fail_at="generate:ER-7")
    seen: list[str] = []
    with pytest.raises(InjectedFailure):
        # one branch at a time, so every story before ER-7 has finished when it fails
        generate_epic("ER-1", cfg, run_id="r1", progress=lambda node, update: seen.append(node), concurrency=1)
    assert "load" in seen and "assess" in seen

    resumed: list[str] = []
    cfg.fail_at = None
    result = generate_epic("ER-1", cfg, run_id="r1", resume=True, concurrency=1,
                           progress=lambda node, update: update.get("cached") or resumed.append(node))
    assert result.status == "done"
    # load and assess are not repeated; only the failed story's branch is generated again
    assert "load" not in resumed and "assess" not in resumed
    assert resumed.count("generate") == 1
    stories = {c.story_key for c in result.state["cases"]}
    assert {"ER-2", "ER-3", "ER-4", "ER-5"} <= stories
    ids = [c.id for c in result.state["cases"]]
    assert len(ids) == len(set(ids))


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    cfg = Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json"])
    first = generate_epic("ER-8", cfg, run_id="r2")
    again = generate_epic("ER-8", cfg, run_id="r2", resume=True)
    assert again.status == "done"
    assert [c.id for c in again.state["cases"]] == [c.id for c in first.state["cases"]]


def test_a_finished_run_keeps_only_its_final_checkpoint(tmp_path):
    import sqlite3

    cfg = Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json"])
    generate_epic("ER-14", cfg, run_id="r3")
    with sqlite3.connect(tmp_path / "data" / "checkpoints.sqlite") as conn:
        rows = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'ER-14:r3'").fetchone()[0]
    assert rows == 1
    again = generate_epic("ER-14", cfg, run_id="r3", resume=True)
    assert again.status == "done" and again.state["cases"]

"""A reviewer's edits to a run waiting for approval (agent/runner.py edit_run, drop_case,
start_decision): written into the checkpoint, the run waits at the approval again, and the
approved run reports (and would write back) the edited cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.configuration import Configuration
from agent.edits import EDITED_LABEL, EditError
from agent.generation.template import load_template
from agent.runner import (
    NotWaiting,
    RunChanged,
    drop_case,
    edit_run,
    generate_epic,
    run_snapshot,
    start_decision,
)
from agent.runs import UnknownRunError, load_run


@pytest.fixture
def waiting(tmp_path):
    cfg = Configuration(source="sample", formats=["json"], data_dir=str(tmp_path / "data"),
                        out_dir=str(tmp_path / "out"), review=True, story_keys=["ER-2", "ER-3"])
    result = generate_epic("ER-1", cfg)
    assert result.status == "interrupted"
    return cfg, result.run_id


def steps_of(case) -> list[dict]:
    return [s.model_dump() for s in case.steps]


def approve(cfg, run_id, by="qa.lead") -> dict:
    epic, decision = start_decision(cfg.data_dir, run_id, approved=True, by=by)
    result = generate_epic(epic, Configuration(data_dir=cfg.data_dir), run_id=run_id, resume=True,
                           resume_value=decision)
    assert result.status == "done"
    return json.loads((Path(cfg.out_dir) / "ER-1.json").read_text())


def test_an_edited_case_is_what_the_approved_run_reports(waiting):
    cfg, run_id = waiting
    _, values, version = run_snapshot(cfg.data_dir, run_id)
    before = [c.id for c in values["cases"]]
    case = values["cases"][2]
    steps = steps_of(case)
    steps[-1]["expected"] = "The agent sees the edited expectation on screen."
    entry = edit_run(cfg.data_dir, run_id, case.id, {"steps": steps, "priority": "Low", "title": "Verify the edit"},
                     by="qa.lead", version=version)
    assert entry["by"] == "qa.lead" and entry["at"] and set(entry["changes"]) == {"steps", "priority", "title"}
    assert f"expected result of step {len(steps)}" in entry["what"]

    record, values, again = run_snapshot(cfg.data_dir, run_id)
    assert record["status"] == "waiting-approval" and again != version
    assert [c.id for c in values["cases"]] == before  # same cases, same order
    edited = values["cases"][2]
    assert edited.title == "Verify the edit" and edited.priority == "Low"
    assert EDITED_LABEL in edited.labels and "Reviewer edit by qa.lead" in edited.notes
    assert record["edits"] == [entry]

    report = approve(cfg, run_id)
    out = next(c for c in report["cases"] if c["id"] == case.id)
    assert out["steps"][-1]["expected"] == "The agent sees the edited expectation on screen."
    assert out["priority"] == "Low" and EDITED_LABEL in out["labels"]
    assert load_run(cfg.data_dir, run_id)["approval"]["by"] == "qa.lead"


def test_dropping_every_case_of_a_criterion_leaves_it_uncovered(waiting):
    cfg, run_id = waiting
    _, values, _ = run_snapshot(cfg.data_dir, run_id)
    criterion = values["cases"][0].criterion_ids[0]
    verifying = [c.id for c in values["cases"] if criterion in c.criterion_ids]
    for case_id in verifying:
        assert drop_case(cfg.data_dir, run_id, case_id, by="qa.lead")["action"] == "drop"
    record, values, _ = run_snapshot(cfg.data_dir, run_id)
    assert not {c.id for c in values["cases"]} & set(verifying)
    assert any(f.code == "uncovered-criterion" and f.criterion_id == criterion for f in values["findings"])
    row = next(r for r in values["coverage"] if r.criterion_id == criterion)
    assert row.case_ids == []
    assert record["summary"]["cases"] == len(values["cases"])  # the preview was written again
    assert [e["case_id"] for e in record["edits"]] == verifying
    report = approve(cfg, run_id)
    assert not {c["id"] for c in report["cases"]} & set(verifying)


@pytest.mark.parametrize("changes, problem", [
    ({"priority": "Urgent"}, "priority 'Urgent'"),
    ({"objective": "x"}, "cannot change objective"),
    ({"title": "   "}, "title is empty"),
    ({"title": "x" * 500}, "characters"),
    ({"steps": []}, "at least one step"),
    ({"steps": [{"action": "Do it", "data": "", "expected": ""}]}, "no expected result"),
    ({"steps": [{"action": "", "data": "", "expected": "Done"}]}, "no action"),
    ({"steps": [{"action": "a", "data": "", "expected": "b"}] * 13}, "allows 12"),
    ({"steps": [{"action": "a", "expected": "b", "when": "now"}]}, "only an action"),
    ({"test_data": {"": "orphan value"}}, "has no name"),
    ({"steps": "do it"}, "must be a list"),
])
def test_an_edit_that_breaks_the_case_model_or_the_house_template_is_refused(waiting, changes, problem):
    cfg, run_id = waiting
    _, values, version = run_snapshot(cfg.data_dir, run_id)
    with pytest.raises(EditError, match=problem):
        edit_run(cfg.data_dir, run_id, values["cases"][0].id, changes, by="qa.lead")
    record, after, again = run_snapshot(cfg.data_dir, run_id)
    assert again == version and "edits" not in record and after["cases"] == values["cases"]


def test_an_emptied_step_is_removed_and_an_unchanged_edit_records_nothing(waiting):
    cfg, run_id = waiting
    _, values, _ = run_snapshot(cfg.data_dir, run_id)
    case = next(c for c in values["cases"] if len(c.steps) >= 2)
    assert edit_run(cfg.data_dir, run_id, case.id, {"steps": steps_of(case), "title": case.title}, by="qa") is None
    steps = steps_of(case)
    steps[0] = {"action": "", "data": "", "expected": ""}
    entry = edit_run(cfg.data_dir, run_id, case.id, {"steps": steps}, by="qa")
    assert "removed" in entry["what"] or "of step 1" in entry["what"]
    _, values, _ = run_snapshot(cfg.data_dir, run_id)
    assert [s.model_dump() for s in next(c for c in values["cases"] if c.id == case.id).steps] == steps_of(case)[1:]


def test_edits_need_a_waiting_run_and_the_version_the_reviewer_read(waiting):
    cfg, run_id = waiting
    _, values, version = run_snapshot(cfg.data_dir, run_id)
    case_id = values["cases"][0].id
    edit_run(cfg.data_dir, run_id, case_id, {"priority": "Low"}, by="a", version=version)
    with pytest.raises(RunChanged, match="reload"):
        edit_run(cfg.data_dir, run_id, case_id, {"priority": "High"}, by="b", version=version)
    with pytest.raises(RunChanged):
        start_decision(cfg.data_dir, run_id, approved=True, by="b", version=version)
    with pytest.raises(Exception, match="has no case"):
        edit_run(cfg.data_dir, run_id, "ER-UAT-99-99", {"priority": "High"}, by="b")
    with pytest.raises(UnknownRunError):
        edit_run(cfg.data_dir, "../../etc/passwd", case_id, {"priority": "High"}, by="b")
    approve(cfg, run_id)
    with pytest.raises(NotWaiting, match="not waiting for approval"):
        edit_run(cfg.data_dir, run_id, case_id, {"priority": "High"}, by="b")
    with pytest.raises(NotWaiting):
        start_decision(cfg.data_dir, run_id, approved=True, by="b")


def test_a_claimed_decision_refuses_a_second_one(waiting):
    cfg, run_id = waiting
    epic, decision = start_decision(cfg.data_dir, run_id, approved=False, reason="More detail", by="a")
    assert epic == "ER-1" and decision == {"approved": False, "reason": "More detail", "by": "a"}
    with pytest.raises(NotWaiting):
        start_decision(cfg.data_dir, run_id, approved=True, by="b")
    with pytest.raises(NotWaiting):
        drop_case(cfg.data_dir, run_id, "ER-UAT-2-01", by="b")


def test_the_house_template_levels_decide_the_priorities(waiting):
    cfg, run_id = waiting
    levels = load_template().priorities.levels
    _, values, _ = run_snapshot(cfg.data_dir, run_id)
    for level in levels:
        edit_run(cfg.data_dir, run_id, values["cases"][0].id, {"priority": level}, by="qa")
    _, values, _ = run_snapshot(cfg.data_dir, run_id)
    assert values["cases"][0].priority == levels[-1]

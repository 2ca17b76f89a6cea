"""Gap mode on the sample project: stories with approved cases get cases only for the criteria
those leave uncovered, a fully covered story gets none and says so, and editing one criterion marks
its test stale (with the old and the new text) and gets that criterion a new case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.configuration import Configuration
from agent.renderers.json_export import load_json
from agent.runner import generate_epic
from connectors.workspace import SAMPLE_PATH

OLD = "This account already has 2 authorised persons"
NEW = "This account already has 3 authorised persons"


def _run(tmp: Path, source: str, data: str, **options) -> dict:
    out = tmp / f"out-{len(list(tmp.glob('out-*')))}"
    cfg = Configuration(source=source, data_dir=str(tmp / data), out_dir=str(out), formats=["md", "json"], **options)
    generate_epic("ER-14", cfg)
    text = (out / "ER-14.json").read_text()
    assert json.loads(load_json(text).model_dump_json()) == {**json.loads(text)}  # loads back unchanged
    return {"json": json.loads(text), "md": (out / "ER-14.md").read_text()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("gaps")
    workspace = tmp / "workspace.json"
    doc = json.loads(SAMPLE_PATH.read_text())
    workspace.write_text(json.dumps(doc))
    first = _run(tmp, str(workspace), "data")
    for issue in doc["issues"]:
        if issue["key"] == "ER-16":
            assert OLD in issue["fields"]["description"]
            issue["fields"]["description"] = issue["fields"]["description"].replace(OLD, NEW)
            issue["fields"]["updated"] = "2026-11-20T10:00:00.000+1100"
    workspace.write_text(json.dumps(doc))
    second = _run(tmp, str(workspace), "data")
    everything = _run(tmp, str(workspace), "data-all", coverage="all")
    return {"first": first, "second": second, "all": everything}


def _rows(cs: dict) -> dict[str, dict]:
    return {row["criterion_id"]: row for row in cs["coverage"]}


def test_cases_only_for_criteria_existing_tests_leave_uncovered(runs) -> None:
    cs = runs["first"]["json"]
    rows = _rows(cs)
    covered = {cid for cid, row in rows.items() if row["existing_tests"]}
    assert {"ER-16/AC-1", "ER-16/AC-4", "ER-17/AC-1"} <= covered
    for case in cs["cases"]:
        if case["kind"] in ("positive", "end_to_end"):
            assert any(cid not in covered for cid in case["criterion_ids"]), case["id"]
    assert rows["ER-16/AC-3"]["status"] == "gap-filled" and rows["ER-16/AC-3"]["new_cases"]
    assert rows["ER-16/AC-4"] == {**rows["ER-16/AC-4"], "status": "covered", "existing_tests": ["ER-37"],
                                  "new_cases": []}
    assert all(row["status"] != "uncovered" for row in rows.values())
    assert len(cs["cases"]) < len(runs["all"]["json"]["cases"])


def test_a_fully_covered_story_gets_none_and_says_so(runs) -> None:
    cs = runs["first"]["json"]
    assert not [c for c in cs["cases"] if c["story_key"] == "ER-15" and c["kind"] != "end_to_end"]
    notes = [f["message"] for f in cs["findings"] if f["code"] == "gap-mode" and f["story_key"] == "ER-15"]
    assert notes and "gets no new cases" in notes[0]
    assert "ER-15 gets no new cases" in runs["first"]["md"]


def test_all_mode_keeps_every_case(runs) -> None:
    cs = runs["all"]["json"]
    assert [c for c in cs["cases"] if c["story_key"] == "ER-15" and c["kind"] != "end_to_end"]
    assert not [f for f in cs["findings"] if f["code"] == "gap-mode"]


def test_editing_a_criterion_marks_its_test_stale(runs) -> None:
    assert not runs["first"]["json"]["stale_tests"]
    cs = runs["second"]["json"]
    stale = cs["stale_tests"]
    assert [(t["test_key"], t["criterion_id"], t["reason"]) for t in stale] == [("ER-37", "ER-16/AC-4", "changed")]
    assert OLD in stale[0]["old_text"] and NEW in stale[0]["new_text"]
    row = _rows(cs)["ER-16/AC-4"]
    assert row["status"] == "stale" and row["stale_tests"] == ["ER-37"] and row["new_cases"]
    assert any(f["code"] == "stale-test" and OLD in f["message"] and NEW in f["message"] for f in cs["findings"])
    assert "stale" in runs["second"]["md"] and "ER-37" in runs["second"]["md"]

"""Fields longer than the importers accept (Jira, Xray, Excel: 32,767 characters) are cut with a
visible marker, keep the documents' structure, and are reported as findings."""

from __future__ import annotations

import csv
import io
import json

from agent.models import AcceptanceCriterion, CaseSet, Epic, Step, Story, UATCase
from agent.renderers.csv_export import render_csv
from agent.renderers.jira_wiki import case_to_wiki, wiki_to_case
from agent.renderers.limits import MAX_FIELD_CHARS, clip
from agent.renderers.outputs import write_outputs
from agent.renderers.xray import xray_tests

HUGE = "The customer's full payment history follows. " * 3_000  # 135,000 characters


def _case_set(case: UATCase) -> CaseSet:
    story = Story(key="ER-2", summary="Payment history", epic_key="ER-1", project="ER",
                  criteria=[AcceptanceCriterion(id="ER-2/AC-1", story_key="ER-2", text="History is shown")])
    return CaseSet(epic=Epic(key="ER-1", summary="Payments", project="ER"), stories=[story], cases=[case],
                   run_id="20261203-120000-abcdef", generator="rules")


def _case(**update) -> UATCase:
    base = UATCase(id="ER-UAT-2-01", title="Verify that the history is shown", objective="Show the history",
                   persona="Agent", preconditions=["Logged in"], test_data={"Account": "4001234567"},
                   steps=[Step(action="Open the account", data="4001234567", expected="History shown")],
                   priority="High", kind="positive", story_key="ER-2", criterion_ids=["ER-2/AC-1"])
    return base.model_copy(update=update)


def test_clip_keeps_short_text_and_marks_what_it_cuts():
    assert clip("short") == "short"
    cut = clip(HUGE)
    assert len(cut) <= MAX_FIELD_CHARS and cut.startswith(HUGE[:1000])
    assert cut.endswith(f"[cut by casewright: {len(HUGE):,} characters, importers accept 32,767]")


def test_a_huge_field_is_cut_in_every_import_and_reported(tmp_path):
    case = _case(objective=HUGE, steps=[Step(action="Open the account", data="4001234567", expected=HUGE)])
    case_set = _case_set(case)

    rows = list(csv.DictReader(io.StringIO(render_csv(case_set), newline="")))
    assert all(len(v) <= MAX_FIELD_CHARS for row in rows for v in row.values())
    assert "[cut by casewright" in rows[0]["Objective"] and "[cut by casewright" in rows[0]["Expected Result"]

    test = xray_tests(case_set)[0]
    assert len(test["fields"]["description"]) <= MAX_FIELD_CHARS
    assert "h3. Traceability\n* Story: ER-2\n* Criteria: ER-2/AC-1" in test["fields"]["description"]
    assert all(len(v) <= MAX_FIELD_CHARS for step in test["steps"] for v in step.values())

    wiki = case_to_wiki(case)
    assert len(wiki) <= MAX_FIELD_CHARS
    back = wiki_to_case(wiki, key=case.id, summary=case.title)
    assert back.story_key == "ER-2" and back.criterion_ids == ["ER-2/AC-1"] and len(back.steps) == 1
    assert back.objective.startswith(HUGE[:500]) and "[cut by casewright" in back.objective

    write_outputs(case_set, ["md", "json"], tmp_path)
    report = (tmp_path / "ER-1.md").read_text()
    assert report.count("`field-truncated`") == 3  # objective, step 1 expected result, the Jira description
    assert "the objective of ER-UAT-2-01 has 135,000 characters" in report
    saved = json.loads((tmp_path / "ER-1.json").read_text())
    assert {f["code"] for f in saved["findings"]} == {"field-truncated"}
    assert saved["cases"][0]["objective"] == HUGE  # the CaseSet itself keeps the whole text


def test_many_fields_that_each_fit_still_give_a_description_jira_accepts():
    steps = [Step(action=f"Check payment {n} " + "x" * 60, data=str(n), expected="It is listed " + "y" * 40)
             for n in range(1, 401)]
    case = _case(steps=steps)
    wiki = case_to_wiki(case)
    assert len(wiki) <= MAX_FIELD_CHARS
    back = wiki_to_case(wiki, key=case.id, summary=case.title)
    assert len(back.steps) == 400 and back.steps[-1].data == "400" and back.story_key == "ER-2"


def test_fields_within_the_limit_are_untouched():
    case = _case(objective="o" * MAX_FIELD_CHARS)
    assert xray_tests(_case_set(case))[0]["steps"][0]["result"] == "History shown"
    assert wiki_to_case(case_to_wiki(_case()), key="ER-UAT-2-01", summary="t").objective == "Show the history"
    assert list(csv.DictReader(io.StringIO(render_csv(_case_set(case)), newline="")))[0]["Objective"] == case.objective

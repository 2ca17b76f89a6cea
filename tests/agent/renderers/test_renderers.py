"""Renderers: every format from one hand-built, realistic and deliberately awkward CaseSet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from agent.configuration import FORMATS
from agent.models import (
    AcceptanceCriterion,
    CaseSet,
    CriterionCoverage,
    Epic,
    Finding,
    Flow,
    SourceRef,
    Step,
    Story,
    UATCase,
)
from agent.renderers.csv_export import CSV_COLUMNS, case_rows
from agent.renderers.gherkin import criterion_tag, render_features
from agent.renderers.jira_wiki import case_to_wiki, comment_for_story, wiki_to_case
from agent.renderers.json_export import load_json
from agent.renderers.outputs import render, render_files, write_outputs
from agent.renderers.xray import xray_tests
from connectors.errors import CasewrightError
from connectors.workspace import SAMPLE_PATH

NASTY_TITLE = 'Verify that # of accounts | balance """ shows for @VIP customers'


def _criterion(story: str, n: int, text: str, section: str = "Acceptance Criteria") -> AcceptanceCriterion:
    return AcceptanceCriterion(id=f"{story}/AC-{n}", story_key=story, text=text, section=section)


@pytest.fixture()
def case_set() -> CaseSet:
    epic = Epic(key="ER-1", summary="Move-in and payment help | contact centre", project="ER",
                url="https://volta.example/browse/ER-1", story_keys=["ER-2", "ER-3"])
    move_in = Story(
        key="ER-2", summary="Agent books a move-in for a new residential customer", epic_key="ER-1", project="ER",
        status="Ready for UAT", priority="High", url="https://volta.example/browse/ER-2",
        criteria=[
            _criterion("ER-2", 1, "Given a verified caller, when the agent books a move-in, then a Move-In case is created"),
            _criterion("ER-2", 2, "The move-in date must be between today and 30 days ahead"),
        ],
    )
    extension = Story(
        key="ER-3", summary="Scenario: payment extension | @limit #2 \"\"\" rules", epic_key="ER-1", project="ER",
        criteria=[
            _criterion("ER-3", 1, "@hardship | Given a balance above $2,500.00 the extension needs approval"),
            _criterion("ER-3", 2, "# Customers cannot have more than 2 extensions in 12 months\nsecond line"),
        ],
    )
    rules = SourceRef(kind="page", id="98101", title="Payment extension rules", url="https://volta.example/wiki/98101")
    section = SourceRef(kind="page_section", id="98101#limits", title="Limits (v2) and thresholds")
    cases = [
        UATCase(
            id="ER-2-TC-01", title="Verify that an agent can book a move-in for a verified caller",
            objective="Confirm a move-in booking creates a Move-In case.\nThe customer receives a confirmation SMS.",
            persona="Contact Centre Agent",
            preconditions=["Agent is logged in to the service console", "Site 6102 is de-energised"],
            test_data={"Account": "4001234567", "Move-in date": "01/12/2026"},
            steps=[
                Step(action="Open the account and verify the caller", data="4001234567", expected="Caller verified"),
                Step(action='Click "Move In"', data="01/12/2026", expected="A Move-In case is created"),
            ],
            priority="High", kind="positive", story_key="ER-2", criterion_ids=["ER-2/AC-1"],
            sources=[SourceRef(kind="story", id="ER-2", title="Agent books a move-in"), rules],
            labels=["uat", "move-in"],
        ),
        UATCase(
            id="ER-2-TC-02", title="Verify that a move-in date 31 days ahead is rejected",
            objective="Reject move-in dates outside the 30-day window.", persona="an Operations Team Leader",
            preconditions=[], test_data={},
            steps=[Step(action="Enter a move-in date 31 days ahead", data="31/12/2026",
                        expected="Error 'Date must be within 30 days' is shown")],
            priority="Medium", kind="negative", story_key="ER-2", criterion_ids=["ER-2/AC-2"],
        ),
        UATCase(
            id="ER-3-TC-01", title="Verify that a balance of exactly $2,500.00 is granted without approval",
            objective="Boundary: the approval threshold is strictly above $2,500.00.", persona="Contact Centre Agent (Tier 1)",
            preconditions=["Open bill for $2,500.00"], test_data={"Bill balance": "$2,500.00", "Empty value": ""},
            steps=[
                Step(action="Open the account", data="", expected="Account page opens"),
                Step(action="Request a 21 day extension", data="", expected="Extension granted without approval"),
            ],
            priority="High", kind="boundary", story_key="ER-3", criterion_ids=["ER-3/AC-1"], sources=[section],
        ),
        UATCase(
            id="ER-3-TC-02", title="Verify that a third extension in 12 months is refused",
            objective="Refuse a third extension.", persona="Contact Centre Agent",
            preconditions=["Account had extensions on 02/02/2026 and 15/07/2026"],
            steps=[Step(action="Request a third extension", data="4001239876", expected="Refused with a hardship referral")],
            priority="Low", kind="negative", story_key="ER-3", criterion_ids=["ER-3/AC-1"],
            confidence="low", notes="The rolling-window start is not stated in the story.",
        ),
        UATCase(
            id="ER-3-TC-03", title=NASTY_TITLE,
            objective="Text full of syntax: | pipes, # hashes, @tags and \"\"\" quotes.\nSecond objective line",
            persona="Given the Billing Specialist",
            preconditions=["Given the account is active", "@VIP flag | set", "line one\nline two", '"""quoted"""',
                           "Scenario: looks like a keyword", "# not a comment"],
            test_data={"Card | number": "4 0 | 2", "Multi line": "a\nb", "Path": "C:\\temp\\x", "Hash": "#1 @a"},
            steps=[
                Step(action="Scenario: enter # value | here", data="| 42 |", expected="| Then the total is 42"),
                Step(action="When Given already prefixed", data="", expected="Then \"\"\" shown\nover two lines"),
                Step(action="", data="just data", expected="@done"),
            ],
            priority="Critical - P1", kind="positive", story_key="ER-3", criterion_ids=["ER-3/AC-1"],
            sources=[rules, SourceRef(kind="criterion", id="ER-3/AC-1", title="")], labels=["edge case"],
        ),
        UATCase(
            id="ER-1-E2E-01", title="Verify that a new customer who moves in can get a payment extension on the first bill",
            objective="Chain move-in to payment extension.", persona="Contact Centre Agent",
            preconditions=["A de-energised site"],
            steps=[
                Step(action="Book a move-in", data="01/12/2026", expected="Move-In case created"),
                Step(action="Request an extension on the first bill", data="", expected="Extension granted"),
            ],
            priority="High", kind="end_to_end", story_key="ER-1", criterion_ids=["ER-2/AC-1", "ER-3/AC-1"],
        ),
    ]
    coverage = [
        CriterionCoverage(criterion_id="ER-2/AC-1", story_key="ER-2", case_ids=["ER-2-TC-01", "ER-1-E2E-01"]),
        CriterionCoverage(criterion_id="ER-2/AC-2", story_key="ER-2", case_ids=["ER-2-TC-02"]),
        CriterionCoverage(criterion_id="ER-3/AC-1", story_key="ER-3",
                          case_ids=["ER-3-TC-01", "ER-3-TC-02", "ER-3-TC-03", "ER-1-E2E-01"]),
        CriterionCoverage(criterion_id="ER-3/AC-2", story_key="ER-3", case_ids=[]),
    ]
    findings = [
        Finding(severity="error", code="uncovered-criterion", message="ER-3/AC-2 | has no case",
                story_key="ER-3", criterion_id="ER-3/AC-2"),
        Finding(severity="warning", code="low-confidence", message="Rolling window unclear", case_id="ER-3-TC-02"),
        Finding(severity="info", code="flow", message="One end-to-end flow found"),
    ]
    return CaseSet(
        epic=epic, stories=[move_in, extension], cases=cases, findings=findings, coverage=coverage,
        flows=[Flow(name="New customer hardship", story_keys=["ER-2", "ER-3"], rationale="Move-in feeds the first bill")],
        run_id="run-20261124-0001", generator="rules", generated_at="2026-11-24T07:00:00+00:00",
    )


def _parse(text: str) -> dict:
    return Parser().parse(TokenScanner(text))


def _scenarios(document: dict) -> list[dict]:
    return [child["scenario"] for child in document["feature"]["children"] if "scenario" in child]


def test_every_feature_file_parses_with_one_scenario_per_case(case_set):
    files = render_features(case_set)
    assert set(files) == {"ER-1/ER-2.feature", "ER-1/ER-3.feature", "ER-1/ER-1-end-to-end.feature"}
    by_id = {c.id: c for c in case_set.cases}
    seen = []
    for path, text in files.items():
        document = _parse(text)
        for scenario in _scenarios(document):
            tags = [t["name"] for t in scenario["tags"]]
            case = by_id[tags[0][1:]]
            seen.append(case.id)
            assert scenario["name"] == " ".join(case.title.split())
            for criterion in case.criterion_ids:
                assert criterion_tag(criterion) in tags
            assert f"@{case.kind}" in tags
            assert ("@low-confidence" in tags) == (case.confidence == "low")
    assert sorted(seen) == sorted(by_id)
    assert criterion_tag("ER-2/AC-1") == "@ER-2_AC-1"
    story = _parse(files["ER-1/ER-3.feature"])["feature"]
    assert story["name"].endswith("[ER-3]")
    assert "Scenario: payment extension" in story["name"]


def test_gherkin_keeps_nasty_text_readable(case_set):
    document = _parse(render_features(case_set)["ER-1/ER-3.feature"])
    nasty = next(s for s in _scenarios(document) if s["name"] == NASTY_TITLE)
    steps = nasty["steps"]
    assert steps[0]["keyword"].strip() == "Given" and steps[0]["text"] == "I am the Billing Specialist"
    texts = [s["text"] for s in steps]
    assert "@VIP flag | set" in texts and "line one line two" in texts and '"""quoted"""' in texts
    table_step = next(s for s in steps if "dataTable" in s)
    rows = [[c["value"] for c in r["cells"]] for r in table_step["dataTable"]["rows"]]
    assert dict(rows[1:]) == case_set.cases[4].test_data  # '|', newline and backslash survive the table
    assert "Scenario: enter # value | here (data: | 42 |)" in texts
    assert "Already prefixed" not in texts and "Given already prefixed" in texts
    assert "I use the data: just data" in texts
    keywords = [s["keyword"].strip() for s in steps]
    assert keywords.count("Given") == 1 and keywords[-1] == "Then"
    plain = next(s for s in _scenarios(document) if s["name"].startswith("Verify that a balance"))
    assert plain["steps"][0]["text"] == "I am a Contact Centre Agent (Tier 1)"


NASTY_TEXTS = [
    "", "   ", "# language: fr", "@tag", "| a | b |", '"""', "```", "* star", "Feature: again", "Rule: r",
    "Background: b", "Examples: e", "Scenario Outline: o", "Given g", "And\tx", "But b", "When w\n\nThen t",
    "line\r\nbreak", "<placeholder>", "back\\slash |", "\\", "emoji ✓ ⚠️ ünïcode", "long " * 80,
]


@pytest.mark.parametrize("text", NASTY_TEXTS)
def test_any_text_in_any_field_still_parses(case_set, text):
    story = case_set.stories[0].model_copy(update={
        "summary": text,
        "criteria": [_criterion("ER-2", 1, text), _criterion("ER-2", 2, "ok")],
    })
    case = UATCase(
        id="ER-2-TC-09", title=text, objective=text, persona=text, preconditions=[text, text],
        test_data={text or "k": text}, steps=[Step(action=text, data=text, expected=text), Step(action="a", expected=text)],
        priority=text or "High", kind="negative", story_key="ER-2", criterion_ids=["ER-2/AC-1"], labels=[text],
    )
    e2e = case.model_copy(update={"id": "ER-1-E2E-09", "kind": "end_to_end", "story_key": "ER-1"})
    nasty = case_set.model_copy(update={
        "epic": case_set.epic.model_copy(update={"summary": text}),
        "stories": [story], "cases": [case, e2e],
        "flows": [Flow(name=text, story_keys=["ER-2"], rationale=text)],
    })
    for text_out in render_features(nasty).values():
        scenarios = _scenarios(_parse(text_out))
        assert len(scenarios) == 1
        assert criterion_tag("ER-2/AC-1") in [t["name"] for t in scenarios[0]["tags"]]
    jsonschema.validate(json.loads(render(nasty, "xray")), XRAY_SCHEMA)
    assert len(list(csv.DictReader(io.StringIO(render(nasty, "csv"), newline="")))) == 4
    back = wiki_to_case(case_to_wiki(case), key=case.id, summary=case.title, labels=case.labels)
    assert back.steps[1].action == "a" and back.story_key == "ER-2"


def test_end_to_end_cases_go_in_the_epic_feature(case_set):
    files = render_features(case_set)
    e2e = _scenarios(_parse(files["ER-1/ER-1-end-to-end.feature"]))
    assert [s["tags"][0]["name"] for s in e2e] == ["@ER-1-E2E-01"]
    story_ids = [s["tags"][0]["name"] for f in ("ER-1/ER-2.feature", "ER-1/ER-3.feature") for s in _scenarios(_parse(files[f]))]
    assert "@ER-1-E2E-01" not in story_ids


# Xray Cloud bulk test import (POST /api/v2/import/test/bulk): a list of tests; 'testtype' is
# required; Jira fields go under 'fields' as in Jira's create-issue API; 'steps' hold
# action/data/result; 'update' carries issue links; 'xray_test_repository_folder' is optional.
XRAY_SCHEMA = {
    "type": "array",
    "maxItems": 1000,
    "items": {
        "type": "object",
        "required": ["testtype", "fields", "steps"],
        "additionalProperties": False,
        "properties": {
            "testtype": {"const": "Manual"},
            "xray_test_repository_folder": {"type": "string", "pattern": "^/"},
            "fields": {
                "type": "object",
                "required": ["project", "summary", "issuetype"],
                "properties": {
                    "project": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"}}},
                    "summary": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^\\n]*$"},
                    "description": {"type": "string"},
                    "priority": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
                    "labels": {"type": "array", "items": {"type": "string", "pattern": "^\\S+$"}},
                    "issuetype": {"type": "object", "required": ["name"], "properties": {"name": {"const": "Test"}}},
                },
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["action", "result"],
                    "additionalProperties": False,
                    "properties": {"action": {"type": "string"}, "data": {"type": "string"}, "result": {"type": "string"}},
                },
            },
            "update": {
                "type": "object",
                "properties": {
                    "issuelinks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["add"],
                            "properties": {
                                "add": {
                                    "type": "object",
                                    "required": ["type", "outwardIssue"],
                                    "properties": {
                                        "type": {"type": "object", "required": ["name"], "properties": {"name": {"const": "Tests"}}},
                                        "outwardIssue": {"type": "object", "required": ["key"]},
                                    },
                                }
                            },
                        },
                    }
                },
            },
        },
    },
}


def test_xray_json_matches_the_documented_bulk_import_format(case_set):
    tests = json.loads(render(case_set, "xray"))
    jsonschema.validate(tests, XRAY_SCHEMA)
    assert len(tests) == len(case_set.cases)
    first = tests[0]
    assert first["fields"]["project"] == {"key": "ER"}
    assert first["fields"]["priority"] == {"name": "High"}
    assert first["steps"][1] == {"action": 'Click "Move In"', "data": "01/12/2026", "result": "A Move-In case is created"}
    assert first["update"]["issuelinks"][0]["add"]["outwardIssue"] == {"key": "ER-2"}
    assert "Confirm a move-in booking" in first["fields"]["description"]
    assert "* Account: 4001234567" in first["fields"]["description"]
    e2e = tests[-1]
    assert [link["add"]["outwardIssue"]["key"] for link in e2e["update"]["issuelinks"]] == ["ER-2", "ER-3"]
    low = next(t for t in tests if t["fields"]["summary"].startswith("Verify that a third"))
    assert "low-confidence" in low["fields"]["labels"]
    assert "edge-case" in tests[4]["fields"]["labels"]
    foldered = xray_tests(case_set, folder="/ER-1 Move-in")
    jsonschema.validate(foldered, XRAY_SCHEMA)
    assert {t["xray_test_repository_folder"] for t in foldered} == {"/ER-1 Move-in"}


def test_xray_splits_imports_above_the_1000_test_limit(case_set):
    base = case_set.cases[1]
    many = case_set.model_copy(update={"cases": [base.model_copy(update={"id": f"ER-2-TC-{i:04d}"}) for i in range(1001)]})
    files = render_files(many, "xray")
    assert list(files) == ["ER-1.xray.json", "ER-1.xray.2.json"]
    parts = [json.loads(text) for text in files.values()]
    for part in parts:
        jsonschema.validate(part, XRAY_SCHEMA)
    assert [len(p) for p in parts] == [1000, 1]


def test_csv_has_the_import_columns_and_one_row_per_step(case_set):
    text = render(case_set, "csv")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    rows = list(reader)
    assert len(rows) == sum(len(c.steps) for c in case_set.cases)
    assert rows == [row for case in case_set.cases for row in case_rows(case)]
    nasty = [r for r in rows if r["Test Case ID"] == "ER-3-TC-03"]
    assert [r["Step #"] for r in nasty] == ["1", "2", "3"]
    assert nasty[0]["Title"] == NASTY_TITLE and nasty[2]["Title"] == NASTY_TITLE  # case columns repeat
    assert nasty[1]["Expected Result"] == 'Then """ shown\nover two lines'
    assert "Multi line: a\nb" in nasty[0]["Test Data"]
    assert rows[0]["Type"] == "Positive" and rows[0]["Criteria"] == "ER-2/AC-1"
    assert "Payment extension rules (98101) <https://volta.example/wiki/98101>" in rows[0]["Sources"]


def test_markdown_report_has_summary_cases_coverage_and_findings(case_set):
    md = render(case_set, "md")
    assert md.startswith("# UAT cases: ER-1 ")
    assert "run-20261124-0001" in md and "rules" in md and "2026-11-24T07:00:00+00:00" in md
    for case in case_set.cases:
        assert case.id in md
    assert "| Criterion | Story | Cases | Covered |" in md
    assert "| ER-3/AC-2 | ER-3 | — | ✗ |" in md
    assert "| ER-2/AC-1 | ER-2 | ER-2-TC-01, ER-1-E2E-01 | ✓ |" in md
    assert "| Coverage | 75% (3 of 4 criteria) |" in md
    assert "##### ER-3-TC-02: Verify that a third extension in 12 months is refused — ⚠️ low confidence" in md
    assert "| 1 | Scenario: enter # value \\| here | \\| 42 \\| | \\| Then the total is 42 |" in md
    assert "| # | Action | Data | Expected Result |" in md
    assert "- **ER-3/AC-2**: \\# Customers cannot have more than 2 extensions in 12 months<br>second line" in md
    assert "[Payment extension rules](https://volta.example/wiki/98101)" in md
    assert md.index("### Errors (1)") < md.index("### Warnings (1)") < md.index("### Information (1)")
    assert "## End-to-end flows" in md and "ER-2 → ER-3" in md
    for line in md.splitlines():  # every table row keeps its column count despite the pipes in the text
        if line.startswith("| 1 | Scenario"):
            assert line.replace("\\|", "").count("|") == 5


def test_json_loads_back_into_an_equal_case_set(case_set):
    assert load_json(render(case_set, "json")) == case_set
    with pytest.raises(CasewrightError, match="not a casewright case-set JSON file"):
        load_json('{"epic": {"key": "X"}}')


def _without_source_details(case: UATCase) -> UATCase:
    return case.model_copy(update={"sources": [(s.title, s.id) for s in case.sources]})


@pytest.mark.parametrize("index", range(6))
def test_wiki_round_trip_is_lossless(case_set, index):
    case = case_set.cases[index]
    back = wiki_to_case(case_to_wiki(case), key=case.id, summary=case.title, priority=case.priority,
                        labels=case.labels + (["low-confidence"] if case.confidence == "low" else []))
    expected = case.model_copy(update={"notes": "", "labels": back.labels})
    assert _without_source_details(back) == _without_source_details(expected)
    assert [s.kind for s in back.sources] == [s.kind for s in case.sources]


def test_wiki_house_format_is_exact(case_set):
    text = case_to_wiki(case_set.cases[2])
    assert text.splitlines() == [
        "h3. Objective", "Boundary: the approval threshold is strictly above $2,500.00.",
        "h3. Persona", "Contact Centre Agent (Tier 1)",
        "h3. Preconditions", "* Open bill for $2,500.00",
        "h3. Test Data", "* Bill balance: $2,500.00", "* Empty value: ",
        "h3. Steps", "||#||Action||Data||Expected Result||",
        "|1|Open the account| |Account page opens|",
        "|2|Request a 21 day extension| |Extension granted without approval|",
        "h3. Traceability", "* Story: ER-3", "* Criteria: ER-3/AC-1", "* Kind: boundary",
        "* Sources: Limits (v2) and thresholds (98101#limits)",
    ]
    assert "* Sources" not in case_to_wiki(case_set.cases[1])


def test_wiki_reads_every_approved_case_of_the_sample_project():
    workspace = json.loads(Path(SAMPLE_PATH).read_text(encoding="utf-8"))
    tests = [i for i in workspace["issues"] if i["fields"]["issuetype"]["name"] == "Test"]
    assert len(tests) >= 20
    for issue in tests:
        fields = issue["fields"]
        case = wiki_to_case(fields["description"], key=issue["key"], summary=fields["summary"],
                            priority=(fields.get("priority") or {}).get("name", "Medium"), labels=fields.get("labels", []))
        assert case.steps and case.story_key and case.criterion_ids
        assert case_to_wiki(case) == fields["description"].replace("\r\n", "\n")


def test_wiki_rejects_a_description_not_in_the_house_format():
    with pytest.raises(CasewrightError, match=r"ER-99: its description lacks the section\(s\) h3. Steps, h3. Traceability"):
        wiki_to_case("Just some text", key="ER-99", summary="x")
    text = "h3. Steps\r\n||#||Action||Data||Expected Result||\r\n|1|Do|x|Done|\r\nh3. Traceability\r\n* Story: ER-2\r\n* Kind: sideways"
    with pytest.raises(CasewrightError, match="unknown kind 'sideways'"):
        wiki_to_case(text, key="ER-98", summary="x")
    case = wiki_to_case(text.replace("sideways", "End-to-end"), key="ER-98", summary="x")
    assert case.kind == "end_to_end" and case.steps == [Step(action="Do", data="x", expected="Done")]
    with pytest.raises(ValueError, match="steps row has 2 cells"):  # callers that skip bad cases catch ValueError
        wiki_to_case(text.replace("|1|Do|x|Done|", "|Do|x|"), key="ER-97", summary="x")
    unlinked = wiki_to_case(text.replace("* Story: ER-2\r\n", "").replace("sideways", "negative"), key="ER-96", summary="x")
    assert unlinked.story_key == "" and unlinked.kind == "negative"


def test_comment_for_story_summarises_cases_and_gaps(case_set):
    story = case_set.stories[1]
    comment = comment_for_story(story, case_set.cases_for("ER-3"))
    lines = comment.splitlines()
    assert lines[0] == "h3. casewright: 3 UAT test cases for ER-3"
    assert "Coverage: 1 of 2 acceptance criteria verified." in lines
    assert "||Case||Title||Kind||Priority||Criteria||Confidence||" in lines
    assert any(line.startswith("|ER-3-TC-03|Verify that # of accounts \\| balance") for line in lines)
    assert "*Not yet verified:* ER-3/AC-2" in lines
    assert "(!) Low confidence, review before use: ER-3-TC-02" in lines


def test_write_outputs_writes_every_format_atomically(case_set, tmp_path):
    out = tmp_path / "out"
    paths = write_outputs(case_set, list(FORMATS), out)
    names = sorted(p.relative_to(out).as_posix() for p in paths)
    assert names == sorted([
        "ER-1.md", "ER-1.csv", "ER-1.xray.json", "ER-1.json",
        "ER-1/ER-2.feature", "ER-1/ER-3.feature", "ER-1/ER-1-end-to-end.feature",
    ])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == names  # no temp files left
    for path in paths:
        assert path.read_bytes().decode("utf-8") == render_files(case_set, _fmt_of(path))[path.relative_to(out).as_posix()]
    assert write_outputs(case_set, "md, md,json", out) == [out / "ER-1.md", out / "ER-1.json"]


def _fmt_of(path: Path) -> str:
    name = path.name
    return "feature" if name.endswith(".feature") else "xray" if name.endswith(".xray.json") else path.suffix[1:]


def test_unknown_format_is_a_clear_error_and_writes_nothing(case_set, tmp_path):
    message = "unknown format 'x'; choose from md, csv, feature, xray, json"
    with pytest.raises(CasewrightError) as caught:
        render(case_set, "x")
    assert str(caught.value) == message
    with pytest.raises(CasewrightError) as caught:
        write_outputs(case_set, ["md", "x"], tmp_path / "out")
    assert str(caught.value) == message
    assert not (tmp_path / "out").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(CasewrightError, match="is a file"):
        write_outputs(case_set, ["md"], tmp_path / "file")


def test_outputs_are_readable_by_the_team(tmp_path, case_set):
    import os
    import stat

    old = os.umask(0o022)
    try:
        paths = write_outputs(case_set, ["md"], tmp_path)
    finally:
        os.umask(old)
    mode = stat.S_IMODE(paths[0].stat().st_mode)
    assert mode == 0o644, oct(mode)

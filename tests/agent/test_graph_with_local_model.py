"""The graph against the REAL local model server (llama.cpp through llama-cpp-python's server,
serving the packaged SmolLM2-135M-Instruct), over HTTP through the ordinary
`openai-compatible:local` provider with the server's constrained decoding (a forced tool call
whose JSON schema the server turns into a grammar). One server for the module.

- one story end to end: the model writes its cases (no fallback), they validate, cite only the
  story's criteria, and render to Gherkin that the official parser reads;
- an answer cut off at the token limit: the repair request is made, and the run ends with the
  documented rules fallback and a finding, never a crash;
- fan-out at concurrency 2: llama-cpp-python's server has no parallel slots (its requests queue
  behind one lock), and each story still gets its own answer.

A revise round is left out (max_revise_rounds=0): it sends a second, longer prompt per story and
is covered with fake models in test_graph_with_model.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from agent.configuration import Configuration
from agent.evaluation.gherkin import feature_scenarios, gherkin_document
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace
from agent.models import UATCase
from agent.runner import generate_epic
from connectors.workspace import SAMPLE_PATH
from support.local_model import llm_options, start_local_model

pytestmark = pytest.mark.xdist_group("local_model")

MODEL = "openai-compatible:local"
# Stories in the sample's shape (epic ER-1, criteria as lines of the acceptance-criteria field).
STORIES = {
    "ER-6": ("Record the reason for payment difficulty on the case",
             "As a Contact Centre Agent I want to record why the customer is struggling to pay so that the "
             "Hardship team sees it on the case.",
             ["The Difficulty Reason picklist on the Case offers Job loss, Illness and Other.",
              "When the Agent selects Other, the Details field becomes required.",
              'Saving the Case without a reason shows the error "Select a difficulty reason".']),
    "ER-7": ("Show payment history on the Account page",
             "As a Contact Centre Agent I want to see the customer's recent payments on the Account page.",
             ["The Payments related list on the Account shows the last 12 payments with date and amount."]),
    "ER-5": ("Refer a customer to the hardship program",
             "As a Contact Centre Agent I want to refer a customer in financial difficulty to the hardship program.",
             ['The Refer to Hardship quick action creates a Case of type "Hardship Referral" with status New.']),
}


@pytest.fixture(scope="module")
def server():
    srv = start_local_model()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    doc = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    by_key = {i["key"]: i for i in doc["issues"]}
    issues = [by_key["ER-1"]]
    for key, (summary, description, criteria) in STORIES.items():
        issue = copy.deepcopy(by_key[key])
        issue["fields"].update(summary=summary, description=description, customfield_10100="\n".join(criteria),
                               issuelinks=[])
        issues.append(issue)
    doc.update(issues=issues, remoteLinks=[], pages=[])
    path = tmp_path_factory.mktemp("local-model") / "workspace.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _run(tmp_path, workspace, server, stories, concurrency=1, **llm):
    cfg = Configuration(source=str(workspace), data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json", "feature"], model=MODEL, story_keys=stories, max_revise_rounds=0,
                        llm=llm_options(server, **{"max_tokens": 1024, **llm}))
    return generate_epic("ER-1", cfg, concurrency=concurrency)


def _model_cases(result, key: str) -> list[UATCase]:
    return [c for c in result.state["cases"] if c.story_key == key and c.kind != "end_to_end"]


def _own_criteria(workspace, key: str) -> set[str]:
    story = next(s for s in load_epic(open_workspace(str(workspace), "ER-1"), "ER-1").stories if s.key == key)
    return {c.id for c in story.criteria}


def _rules_titles(workspace, key: str) -> set[str]:
    story = next(s for s in load_epic(open_workspace(str(workspace), "ER-1"), "ER-1").stories if s.key == key)
    return {c.title for c in generate_for_story(story, load_template(None), []).cases}


def test_one_story_end_to_end_through_the_graph(tmp_path, workspace, server):
    result = _run(tmp_path, workspace, server, ["ER-6"])
    codes = {f.code for f in result.state["findings"]}
    assert not codes & {"llm-invalid-output", "llm-unavailable", "llm-plan-fallback"}, result.state["findings"]
    usage = result.state["llm_usage"]
    assert usage["generate"]["calls"] >= 1 and usage["generate"]["fallbacks"] == 0
    assert usage["generate"]["input_tokens"] > 0 and usage["generate"]["output_tokens"] > 0
    report = json.loads((tmp_path / "out" / "ER-1.json").read_text(encoding="utf-8"))
    assert report["stats"]["llm_calls"] == sum(n["calls"] for n in usage.values()) >= 2  # plan + generate
    assert report["stats"]["llm_fallbacks"] == 0

    cases = _model_cases(result, "ER-6")
    assert cases
    own = _own_criteria(workspace, "ER-6")
    for case in cases:
        UATCase.model_validate(case.model_dump())
        assert case.criterion_ids and set(case.criterion_ids) <= own
        assert case.title.strip() and case.steps
    # the model wrote them, not the rules: none of its titles is one the rules write for this story
    assert not {c.title for c in cases} & _rules_titles(workspace, "ER-6")

    features = list((tmp_path / "out").rglob("*.feature"))
    assert features
    scenarios = [s for f in features for s in feature_scenarios(gherkin_document(f.read_text(encoding="utf-8")))]
    assert len(scenarios) >= len(cases)


def test_an_answer_cut_off_at_the_token_limit_is_repaired_then_falls_back(tmp_path, workspace, server):
    result = _run(tmp_path, workspace, server, ["ER-6"], max_tokens=40)
    usage = result.state["llm_usage"]["generate"]
    assert usage["calls"] == 2 and usage["repairs"] == 1 and usage["fallbacks"] == 1
    assert usage["output_tokens"] <= 2 * 40
    finding = next(f for f in result.state["findings"] if f.code == "llm-invalid-output")
    assert finding.story_key == "ER-6" and "cut off at the token limit" in finding.message
    cases = _model_cases(result, "ER-6")
    assert cases and {cid for c in cases for cid in c.criterion_ids} == _own_criteria(workspace, "ER-6")
    assert result.status == "done"


def test_fan_out_at_concurrency_two_gives_each_story_its_own_answer(tmp_path, workspace, server):
    result = _run(tmp_path, workspace, server, ["ER-7", "ER-5"], concurrency=2)
    assert not {f.code for f in result.state["findings"]} & {"llm-invalid-output", "llm-unavailable"}
    usage = result.state["llm_usage"]["generate"]
    assert usage["calls"] >= 2 and usage["fallbacks"] == 0
    for key in ("ER-7", "ER-5"):
        cases = _model_cases(result, key)
        assert cases, key
        assert {cid for c in cases for cid in c.criterion_ids} <= _own_criteria(workspace, key)
        assert not {c.title for c in cases} & _rules_titles(workspace, key)

"""The coverage judge over real HTTP against the OpenAI-compatible stub: the model's yes and no decide
the borderline pairs (how="judge"), a malformed answer or a 500 leaves them to the threshold with a
warning and never stops the run, judge calls are counted in the usage report, and coverage_judge
off (or no model) means no judge call at all."""

from __future__ import annotations

import json
import re

import pytest

from agent.configuration import Configuration
from agent.evaluation.mapping import workspace_traced
from agent.generation.template import load_template
from agent.knowledge.config import StoreConfig
from agent.llm.generator import generator_for
from agent.llm.judge import JUDGE_FAILED, JUDGED, ModelJudge
from agent.llm.schemas import JUDGE_SCHEMA_NAME
from agent.review.mapping import JUDGE_MARGIN, SIMILARITY_THRESHOLD, Mapper
from agent.runner import generate_epic
from connectors.embeddings import get_embedder
from connectors.emulators.openai_chat import OpenAIStub, uat_responder
from connectors.workspace import SAMPLE_PATH

pytestmark = pytest.mark.xdist_group("openai_stub")
MODEL = "openai-compatible:casewright-stub"


@pytest.fixture(scope="module")
def stub():
    with OpenAIStub() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(stub):
    stub.reset()
    stub.responder = None
    yield


@pytest.fixture(scope="module")
def encoder():
    return get_embedder(StoreConfig().embedding_model)


@pytest.fixture(scope="module")
def traced():
    """The sample's approved cases as tests that name no criteria: mapped by similarity."""
    stories, _ = workspace_traced(SAMPLE_PATH)
    return [s for s in stories if s.key in ("ER-16", "ER-17")]


def _judge(stub) -> ModelJudge:
    options = {"model_base_url": stub.base_url, "llm_retries": 0, "structured_output": "json_schema",
               "llm_timeout_s": 10}
    return ModelJudge.of(generator_for(MODEL, options, load_template(None)))


def _answer(verifies: bool):
    def respond(body):
        if body["response_format"]["json_schema"]["name"] == JUDGE_SCHEMA_NAME:
            return {"verifies": verifies, "reason": "stub says so"}
        return uat_responder(body)
    return respond


def _borderline(mapper: Mapper, stories) -> set[tuple[str, str, float]]:
    seen = set()
    Mapper(encoder=mapper.encoder, judge=lambda t, c, s: seen.add((t.key, c.id, s)) or None).map_stories(stories)
    return seen


def _pairs(links) -> set[tuple[str, str]]:
    return {(lk.test_key, lk.criterion_id) for story in links.values() for lk in story}


def test_yes_links_every_borderline_pair_as_judged(stub, encoder, traced):
    stub.responder = _answer(True)
    judge = _judge(stub)
    borderline = _borderline(Mapper(encoder=encoder), traced)
    below = {(t, c) for t, c, s in borderline if s < SIMILARITY_THRESHOLD}
    assert below and all(abs(s - SIMILARITY_THRESHOLD) < JUDGE_MARGIN for _, _, s in borderline)
    links = Mapper(encoder=encoder, judge=judge).map_stories(traced)
    judged = {(lk.test_key, lk.criterion_id) for s in links.values() for lk in s if lk.how == "judge"}
    assert judged == {(t, c) for t, c, _ in borderline}  # below the threshold too: the model decided
    asked = [r for r in stub.requests if r.schema_name == JUDGE_SCHEMA_NAME]
    assert len(asked) == len(borderline)
    prompt = json.dumps(asked[0].body["messages"])
    assert "<test key=" in prompt and "<criterion id=" in prompt
    assert judge.ledger.usage["map_tests"]["calls"] == len(borderline)
    assert judge.ledger.usage["map_tests"]["input_tokens"] > 0
    findings = judge.findings({c.id: s.key for s in traced for c in s.criteria})
    assert {f.code for f in findings} == {JUDGED} and "stub says so" in findings[0].message


def test_no_drops_borderline_pairs_above_the_threshold(stub, encoder, traced):
    stub.responder = _answer(False)
    plain = _pairs(Mapper(encoder=encoder).map_stories(traced))
    borderline = _borderline(Mapper(encoder=encoder), traced)
    above = {(t, c) for t, c, s in borderline if s >= SIMILARITY_THRESHOLD}
    assert above and above <= plain
    links = _pairs(Mapper(encoder=encoder, judge=_judge(stub)).map_stories(traced))
    assert links == plain - above


@pytest.mark.parametrize("fault", ["malformed", "500"])
def test_a_failing_judge_leaves_the_threshold_to_decide(stub, encoder, traced, fault):
    if fault == "malformed":
        stub.malformed_next("content", times=1000)  # the answer and its repair stay cut off
    else:
        stub.fail_next(500, times=1000)
    judge = _judge(stub)
    plain = Mapper(encoder=encoder).map_stories(traced)
    links = Mapper(encoder=encoder, judge=judge).map_stories(traced)
    assert links == plain and not any(lk.how == "judge" for s in links.values() for lk in s)
    findings = judge.findings({c.id: s.key for s in traced for c in s.criteria})
    assert findings and {f.code for f in findings} == {JUDGE_FAILED}
    assert all(f.severity == "warning" and "threshold decided" in f.message for f in findings)
    counts = judge.ledger.usage["map_tests"]
    assert counts["fallbacks"] == len(_borderline(Mapper(encoder=encoder), traced))
    if fault == "500":  # after the API kept failing, the judge stops asking
        assert len(stub.requests) == 1
        assert "kept failing" in findings[0].message
    else:
        assert counts["repairs"] > 0


def _untraced_workspace(tmp_path):
    """The sample with the Traceability of ER-16's and ER-17's tests removed: they name no criteria."""
    doc = json.loads(SAMPLE_PATH.read_text())
    for issue in doc["issues"]:
        if issue["key"] in ("ER-36", "ER-37", "ER-38", "ER-39"):
            issue["fields"]["description"] = re.sub(r"h3\. Traceability.*", "", issue["fields"]["description"],
                                                    flags=re.S)
    path = tmp_path / "workspace.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("on", [True, False])
def test_a_run_with_a_model_asks_the_judge_and_counts_its_calls(stub, tmp_path, on):
    workspace = _untraced_workspace(tmp_path)
    cfg = Configuration(source=str(workspace), data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json"], model=MODEL, story_keys=["ER-16", "ER-17"], max_revise_rounds=0,
                        llm={"model_base_url": stub.base_url, "llm_retries": 0, "structured_output": "json_schema"},
                        coverage_judge=on)
    result = generate_epic("ER-14", cfg)
    asked = [r for r in stub.requests if r.schema_name == JUDGE_SCHEMA_NAME]
    cs = json.loads((tmp_path / "out" / "ER-14.json").read_text())
    judged = [lk for lk in cs["links"] if lk["how"] == "judge"]
    if not on:
        assert not asked and not judged and "map_tests_calls" not in result.summary
        return
    assert asked and judged and result.summary["map_tests_calls"] == len(asked)
    assert result.summary["llm_calls"] == len(stub.requests)
    # the stub's verdict (word overlap) is what decided each judged pair
    notes = " ".join(f["message"] for f in cs["findings"] if f["code"] == JUDGED)
    for lk in judged:
        assert f"{lk['test_key']} verifies {lk['criterion_id']}" in notes

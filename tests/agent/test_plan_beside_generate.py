"""The plan runs beside the generate branches (agent/graph.py, agent/nodes/scope.py): against the
OpenAI-compatible stub over HTTP, a story the plan leaves out is dropped after the branches meet,
the story branches stay within the run's concurrency, and the plan call does not wait for them."""

from __future__ import annotations

import json

import pytest

from agent.configuration import Configuration
from agent.runner import generate_epic
from connectors.emulators.openai_chat import OpenAIStub, plan_answer, requested_schema_name, uat_responder, user_text

pytestmark = pytest.mark.xdist_group("llm_graph")


@pytest.fixture(scope="module")
def stub():
    with OpenAIStub() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(stub):
    stub.reset()
    stub.responder = None
    stub.latency_s = 0.0
    yield


def _cfg(tmp_path, stub, **kw) -> Configuration:
    return Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                         formats=["json"], model="openai-compatible:casewright-stub", max_revise_rounds=0,
                         llm={"model_base_url": stub.base_url, "llm_retries": 0, "llm_timeout_s": 30}, **kw)


def _leaving_out(key: str):
    def answer(body):
        if "plan" in (requested_schema_name(body) or "").lower():
            plan = plan_answer(user_text(body))
            plan["story_keys"] = [k for k in plan["story_keys"] if k != key]
            plan["flows"] = [f for f in plan["flows"] if key not in f["story_keys"]]
            plan["notes"] = "a technical story"
            return plan
        return uat_responder(body)
    return answer


def test_a_story_the_plan_leaves_out_is_dropped_with_its_findings_but_named(stub, tmp_path):
    """ER-6 has vague criteria (assess finds them) and gets a branch beside the plan; the plan leaves
    it out, so its cases and what assess and its branch found go, and the plan's reason stays."""
    stub.responder = _leaving_out("ER-6")
    cfg = _cfg(tmp_path, stub, story_keys=["ER-2", "ER-6", "ER-4"])
    result = generate_epic("ER-1", cfg, concurrency=4)
    state = result.state
    assert state["scope"] == ["ER-2", "ER-4"]
    assert {c.story_key for c in state["cases"] if c.kind != "end_to_end"} == {"ER-2", "ER-4"}
    left = [f for f in state["findings"] if f.story_key == "ER-6"]
    assert "out-of-scope" in [f.code for f in left] and "a technical story" in str([f.message for f in left])
    # the review still lists the story's criteria as not verified, as it did when the plan ran first
    assert {f.code for f in left} <= {"out-of-scope", "uncovered-criterion"}
    # the branch for ER-6 ran beside the plan (its call is counted), then scope dropped it
    assert state["llm_usage"]["generate"]["calls"] == 3
    assert state["usage"]["scope"]["dropped"] == 1
    report = json.loads((tmp_path / "out" / "ER-1.json").read_text())
    assert {c["story_key"] for c in report["cases"]} <= {"ER-2", "ER-4"}
    assert result.summary["stories"] == 2


def test_with_the_rules_every_story_stays_and_assess_findings_are_kept(tmp_path):
    cfg = Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        formats=["json"], story_keys=["ER-2", "ER-6"])
    state = generate_epic("ER-1", cfg).state
    assert state["scope"] == ["ER-2", "ER-6"] and "scope" not in state["usage"]
    assert "vague-criterion" in {f.code for f in state["findings"] if f.story_key == "ER-6"}


def test_story_branches_stay_within_the_concurrency_and_the_plan_runs_beside_them(stub, tmp_path):
    stub.latency_s = 0.3
    cfg = _cfg(tmp_path, stub, story_keys=["ER-2", "ER-3", "ER-4", "ER-5", "ER-6"])
    generate_epic("ER-1", cfg, concurrency=2)
    calls = sorted(stub.requests, key=lambda r: r.received_at)
    plan = [r for r in calls if "plan" in (r.schema_name or "").lower()]
    stories = [r for r in calls if r.schema_name == "uat_cases"]
    assert len(plan) == 1 and len(stories) == 5
    # the plan went out with the first story calls, not 0.3 s before them
    assert plan[0].received_at - stories[0].received_at < 0.15
    # at most 2 story calls at once: the third starts only when one of the first two has answered
    assert stories[2].received_at - stories[0].received_at >= 0.25
    assert stub.max_in_flight <= 3

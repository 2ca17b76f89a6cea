"""The agent loop with a language model, driven by langchain-core fake chat models (no network):
revise rounds driven by review findings, fallback to the deterministic generator after invalid
output, tool-calling structured output, and the approval interrupt resumed later."""

from __future__ import annotations

import json
import uuid

import pytest
from langchain_core.messages import AIMessage

from agent.configuration import Configuration
from agent.context import RunContext, Services
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace
from agent.runner import generate_epic
from agent.runs import load_run
from support.llm_fakes import (
    ScriptedChatModel,
    ToolCallingChatModel,
    cases_json,
    criteria,
    first_prompt,
    is_plan,
    is_revise,
    plan_json,
    story_key,
)

pytestmark = pytest.mark.xdist_group("llm_graph")


@pytest.fixture(scope="module")
def sample_stories():
    return {s.key: s for s in load_epic(open_workspace("sample", "ER-1"), "ER-1").stories}


_models: dict[str, object] = {}


@pytest.fixture
def model_name():
    name = f"fake-{uuid.uuid4().hex[:8]}"
    yield name
    _models.pop(name, None)


def _cfg(tmp_path, name, stories, **kw) -> Configuration:
    return Configuration(source="sample", data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                         formats=["json"], model=name, story_keys=stories, **kw)


def _register(name, model):
    """The fake chat model a test's runs use, given to them as Services.chat_model."""
    _models[name] = model
    return model


def _services(name) -> Services:
    return Services(chat_model=_models[name])


def test_revise_rounds_follow_review_findings_for_affected_stories_only(tmp_path, model_name, sample_stories):
    """ER-2's first answer leaves criteria uncovered; ER-3's is complete. Only ER-2 is revised, once,
    with the uncovered criteria in the revise prompt, and the revision closes the gap."""
    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2", "ER-3"])
        key, crits = story_key(messages), criteria(messages)
        if is_revise(messages) or key == "ER-3":
            return cases_json(key, crits)
        return cases_json(key, crits[:2])  # ER-2: first two criteria only

    model = _register(model_name, ScriptedChatModel(script=script))
    # coverage=all: ER-2 has approved tests, and gap mode would not ask for the criteria they cover
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2", "ER-3"], coverage="all"),
                           _services(model_name), concurrency=2)

    revise_prompts = [first_prompt(p) for p in model.prompts if is_revise(p)]
    assert len(revise_prompts) == 1
    assert 'key="ER-2"' in revise_prompts[0] and 'key="ER-3"' not in revise_prompts[0]
    missing = [c.id for c in sample_stories["ER-2"].criteria[2:]]
    assert all(cid in revise_prompts[0] for cid in missing)
    assert "uncovered-criterion" in revise_prompts[0]

    state = result.state
    assert state["revise_round"] == 1
    assert result.summary["coverage"] == 1.0
    assert not [f for f in state["findings"] if f.code == "uncovered-criterion"]
    usage = state["llm_usage"]
    assert usage["plan"]["calls"] == 1 and usage["generate"]["calls"] == 2 and usage["revise"]["calls"] == 1
    assert result.summary["llm_calls"] == 4
    assert result.summary["input_tokens"] > 0 and result.summary["output_tokens"] > 0
    er2 = [c for c in state["cases"] if c.story_key == "ER-2"]
    assert {cid for c in er2 for cid in c.criterion_ids} == {c.id for c in sample_stories["ER-2"].criteria}
    assert [c.id for c in er2] == [f"ER-UAT-2-{n:02d}" for n in range(1, len(er2) + 1)]  # ids are casewright's


def test_revise_stops_after_max_rounds_and_reports_what_remains(tmp_path, model_name):
    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2"])
        return cases_json(story_key(messages), criteria(messages)[:1])  # never covers the rest

    model = _register(model_name, ScriptedChatModel(script=script))
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2"], max_revise_rounds=2), _services(model_name), concurrency=1)
    assert sum(1 for p in model.prompts if is_revise(p)) == 2
    assert result.state["revise_round"] == 2
    remaining = [f for f in result.state["findings"] if f.code == "uncovered-criterion"]
    assert remaining and all(f.story_key == "ER-2" for f in remaining)
    report = json.loads((tmp_path / "out" / "ER-1.json").read_text())
    assert report["stats"]["revise_rounds"] == 2
    assert any(f["code"] == "uncovered-criterion" for f in report["findings"])


def test_invalid_output_is_repaired_once_then_falls_back_to_rules(tmp_path, model_name, sample_stories):
    """ER-2: missing steps, then an unknown criterion id: falls back, with a finding.
    ER-3: broken JSON once, then valid: repaired and kept."""
    seen: dict[str, int] = {}

    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2", "ER-3"])
        key = story_key(messages)
        seen[key] = seen.get(key, 0) + 1
        if key == "ER-2":
            bad = json.loads(cases_json(key, criteria(messages)))
            if seen[key] == 1:
                del bad["cases"][0]["steps"]
            else:
                bad["cases"][0]["criterion_ids"] = ["ER-2/AC-99"]
            return json.dumps(bad)
        if seen[key] == 1:
            return '{"cases": [{"title": "half an answer'
        return cases_json(key, criteria(messages))

    model = _register(model_name, ScriptedChatModel(script=script))
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2", "ER-3"]), _services(model_name), concurrency=2)
    state = result.state

    repairs = [p for p in model.prompts if len([m for m in p if m.type == "human"]) == 2]
    repair_texts = [str(p[-1].content) for p in repairs]
    assert any("steps" in t and "Field required" in t for t in repair_texts)
    assert any("not valid JSON" in t for t in repair_texts)

    fallback = [f for f in state["findings"] if f.code == "llm-invalid-output"]
    assert [f.story_key for f in fallback] == ["ER-2"]
    assert "ER-2/AC-99" in fallback[0].message
    er2 = [c for c in state["cases"] if c.story_key == "ER-2" and c.kind != "end_to_end"]
    assert er2 and not any(c.title.startswith("Verify that Do what") for c in er2)
    # the rules wrote ER-2: their cases differ from anything the fake model said
    assert {c.objective for c in er2}.isdisjoint({f"Check {t[:80]}" for _, t in
                                                  [(c.id, c.text) for c in sample_stories["ER-2"].criteria]})
    er3 = [c for c in state["cases"] if c.story_key == "ER-3" and c.kind != "end_to_end"]
    assert er3 and all(c.objective.startswith("Check ") for c in er3)
    assert state["llm_usage"]["generate"]["fallbacks"] == 1
    assert state["llm_usage"]["generate"]["repairs"] == 2


def test_tool_calling_form_and_story_key_enforced(tmp_path, model_name):
    """Structured output through tool calls; an answer naming another story is repaired, never written there."""
    calls = {"n": 0}

    def script(messages):
        if is_plan(messages):
            args = json.loads(plan_json(["ER-2"]))
            return AIMessage(content="", tool_calls=[{"name": "uat_plan", "args": args, "id": "c0"}])
        calls["n"] += 1
        key = story_key(messages)
        body = json.loads(cases_json(key, criteria(messages)))
        if calls["n"] == 1:
            for c in body["cases"]:
                c["story_key"] = "HR-1"  # as if instructions in the story had redirected the model
        return AIMessage(content="", tool_calls=[{"name": "uat_cases", "args": body, "id": f"c{calls['n']}"}])

    model = _register(model_name, ToolCallingChatModel(script=script))
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2"]), _services(model_name), concurrency=1)
    repair = [str(p[-1].content) for p in model.prompts if len([m for m in p if m.type == "human"]) == 2]
    assert len(repair) == 1 and "'HR-1'" in repair[0] and "'ER-2'" in repair[0]
    assert {c.story_key for c in result.state["cases"]} == {"ER-2"}
    assert not [f for f in result.state["findings"] if f.code in ("llm-invalid-output", "llm-unavailable")]


def test_approval_interrupts_and_resumes_with_reject_then_approve(tmp_path, model_name):
    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2"])
        return cases_json(story_key(messages), criteria(messages))

    model = _register(model_name, ScriptedChatModel(script=script))
    cfg = _cfg(tmp_path, model_name, ["ER-2"], review=True)
    first = generate_epic("ER-1", cfg, _services(model_name), concurrency=1)
    assert first.status == "interrupted"
    record = load_run(cfg.data_dir, first.run_id)
    assert record["status"] == "waiting-approval"
    assert record["summary"]["cases"] == first.summary["cases"] > 0
    assert (tmp_path / "out" / "ER-1.json").exists()  # the preview the person reviews
    assert "write_results" not in first.state

    second = generate_epic("ER-1", Configuration(data_dir=cfg.data_dir), _services(model_name), run_id=first.run_id, resume=True,
                           resume_value={"approved": False, "reason": "Name the SMS wording in AC-1", "by": "qa"})
    assert second.status == "interrupted"
    revise = [first_prompt(p) for p in model.prompts if is_revise(p)]
    assert len(revise) == 1 and "<reviewer>\nName the SMS wording in AC-1\n</reviewer>" in revise[0]

    third = generate_epic("ER-1", Configuration(data_dir=cfg.data_dir), _services(model_name), run_id=first.run_id, resume=True,
                          resume_value={"approved": True, "by": "qa"})
    assert third.status == "done"
    assert third.state["approval"]["status"] == "approved"
    assert load_run(cfg.data_dir, first.run_id)["status"] == "done"
    assert third.summary["cases"] > 0


def test_rules_run_rejected_ends_without_write_back(tmp_path):
    cfg = Configuration(source="sample", data_dir=str(tmp_path / "d"), out_dir=str(tmp_path / "o"), formats=["json"],
                        story_keys=["ER-2"], review=True)
    first = generate_epic("ER-1", cfg, concurrency=1)
    assert first.status == "interrupted"
    done = generate_epic("ER-1", Configuration(data_dir=cfg.data_dir), run_id=first.run_id, resume=True,
                         resume_value={"approved": False, "reason": "not yet"})
    assert done.status == "done"
    assert done.state["approval"]["status"] == "rejected"
    assert not done.state.get("write_results")
    assert load_run(cfg.data_dir, first.run_id)["status"] == "rejected"


def test_model_labels_in_casewrights_namespace_are_dropped(tmp_path, model_name, sample_stories):
    """The model may add its own labels, never `casewright*` ones (write-back finds issues by them)."""
    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2"])
        body = json.loads(cases_json(story_key(messages), criteria(messages)))
        for c in body["cases"]:
            c["labels"] = ["casewright-case-er-uat-3-01", "CaseWright-Extra", "smoke"]
        return json.dumps(body)

    _register(model_name, ScriptedChatModel(script=script))
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2"]), _services(model_name), concurrency=1)
    er2 = [c for c in result.state["cases"] if c.story_key == "ER-2"]
    assert er2 and all("smoke" in c.labels for c in er2)
    assert not [lb for c in er2 for lb in c.labels if lb.startswith("casewright-") or lb == "caseWright-extra"]


def test_retrieved_approved_cases_are_examples_not_rules(tmp_path, model_name, sample_stories):
    """Approved cases of similar stories (retrieved `test_case` chunks) go into <examples>; pages stay rules."""
    from langgraph.runtime import Runtime

    from agent.nodes.generate import generate

    def script(messages):
        return cases_json(story_key(messages), criteria(messages))

    model = _register(model_name, ScriptedChatModel(script=script))
    retrieved = [
        {"id": "HR-UAT-9-01", "kind": "test_case", "title": "HR-UAT-9-01 Verify that a refund is issued",
         "text": "Approved case text: the agent issues a refund of the overpaid balance"},
        {"id": "page-7#2", "kind": "page_section", "title": "Extensions",
         "text": "Rule text: extensions are limited to 14 days"},
    ]
    cfg = _cfg(tmp_path, model_name, ["ER-2"])
    story = sample_stories["ER-2"].model_copy(update={"approved_cases": []})  # room in the 3 example slots
    out = generate({"story": story, "epic_key": "ER-1", "retrieved": retrieved},
                   Runtime(context=RunContext(cfg, _services(model_name))))
    assert out["cases"]
    prompt = first_prompt(model.prompts[-1])
    examples = prompt.split("<examples>", 1)[1].split("</examples>", 1)[0]
    rules = prompt.split("<rules>", 1)[1].split("</rules>", 1)[0]
    assert "Approved case text" in examples and 'id="HR-UAT-9-01"' in examples
    assert "Approved case text" not in rules
    assert "Rule text" in rules and "Rule text" not in examples


class _ServerError(Exception):
    status_code = 503


def test_api_outage_is_an_llm_unavailable_finding_or_a_transient_error(tmp_path, model_name):
    """CLI behaviour: the rules write the story, with an `llm-unavailable` finding. With
    llm_unavailable="raise" (a background job with retries left) the run stops with a transient
    error instead, and a later resume with "fallback" finishes from the checkpoint."""
    from agent.llm.structured import LLMUnavailable
    from connectors.errors import is_transient

    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2", "ER-3"])
        if story_key(messages) == "ER-2":
            raise _ServerError("upstream unavailable")
        return cases_json(story_key(messages), criteria(messages))

    model = _register(model_name, ScriptedChatModel(script=script))
    cfg = _cfg(tmp_path, model_name, ["ER-2", "ER-3"], max_revise_rounds=0)
    with pytest.raises(LLMUnavailable) as err:
        generate_epic("ER-1", Configuration(**{**cfg.as_record(), "llm_unavailable": "raise"}), _services(model_name),
                      run_id="outage-1", concurrency=2)
    assert is_transient(err.value)
    calls_before = len(model.prompts)
    result = generate_epic("ER-1", cfg, _services(model_name), run_id="outage-1", resume=True, concurrency=2)
    codes = {(f.code, f.story_key) for f in result.state["findings"]}
    assert ("llm-unavailable", "ER-2") in codes and not {c for c, _ in codes} & {"llm-invalid-output"}
    assert {c.story_key for c in result.state["cases"]} >= {"ER-2", "ER-3"}
    # ER-3 finished before the failure: its answer came from the checkpoint, not a new call
    assert not [p for p in model.prompts[calls_before:] if story_key(p) == "ER-3"]


def test_an_unsupported_value_drives_a_revise_round(tmp_path, model_name):
    """The first answer states an amount found nowhere in the story or its sources; the review's
    `unsupported-value` finding sends ER-2 back to the model, and the clean revision stands."""
    def script(messages):
        if is_plan(messages):
            return plan_json(["ER-2"])
        key, crits = story_key(messages), criteria(messages)
        body = json.loads(cases_json(key, crits))
        if not is_revise(messages):
            body["cases"][0]["steps"][0]["expected"] += " and a fee of $987.65 is charged"
        return json.dumps(body)

    model = _register(model_name, ScriptedChatModel(script=script))
    # coverage all: the case carrying the value verifies ER-2/AC-1, which ER-19 already covers
    result = generate_epic("ER-1", _cfg(tmp_path, model_name, ["ER-2"], max_revise_rounds=2, coverage="all"),
                           _services(model_name), concurrency=1)
    revise_prompts = [first_prompt(p) for p in model.prompts if is_revise(p)]
    assert len(revise_prompts) == 1 and "unsupported-value" in revise_prompts[0] and "$987.65" in revise_prompts[0]
    assert result.state["revise_round"] == 1
    assert not [f for f in result.state["findings"] if f.code == "unsupported-value"]
    assert not [c for c in result.state["cases"] if "$987.65" in c.model_dump_json()]

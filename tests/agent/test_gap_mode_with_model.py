"""Gap mode with a model, over real HTTP against the OpenAI-compatible stub: the prompts the stub
received name only the criteria existing tests leave open (and the probes they do not exercise),
a story whose tests cover everything costs no call, and `all` still asks for every criterion."""

from __future__ import annotations

import json
import re

import pytest

from agent.configuration import Configuration
from agent.runner import generate_epic
from connectors.emulators.openai_chat import OpenAIStub, user_text

pytestmark = pytest.mark.xdist_group("openai_stub")
CRITERION = re.compile(r"^- \[([A-Z]+-\d+/AC-\d+)\] (.+)$", re.M)
STORY = re.compile(r'<story key="([^"]+)"')


def _run(stub, tmp_path, coverage: str) -> tuple[dict, dict[str, str]]:
    stub.reset()
    out = tmp_path / coverage
    cfg = Configuration(source="sample", data_dir=str(tmp_path / f"data-{coverage}"), out_dir=str(out),
                        formats=["json"], model="openai-compatible:casewright-stub", coverage=coverage,
                        max_revise_rounds=0,
                        llm={"model_base_url": stub.base_url, "llm_retries": 0, "structured_output": "json_schema"})
    generate_epic("ER-14", cfg)
    prompts = {}
    for request in stub.requests:
        if request.schema_name == "uat_cases":
            text = user_text(request.body)
            prompts[STORY.search(text).group(1)] = text
    return json.loads((out / "ER-14.json").read_text()), prompts


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gap-prompts")
    with OpenAIStub() as stub:
        return {"gaps": _run(stub, tmp, "gaps"), "all": _run(stub, tmp, "all")}


def test_the_prompt_names_only_the_open_criteria(runs):
    cs, prompts = runs["gaps"]
    _, everything = runs["all"]
    rows = {row["criterion_id"]: row for row in cs["coverage"]}
    stories = {s["key"]: s for s in cs["stories"]}
    assert "ER-16" in prompts and "ER-17" in prompts
    for key, prompt in prompts.items():
        asked = dict(CRITERION.findall(prompt))
        criteria = {c["id"]: c["text"] for c in stories[key]["criteria"]}
        open_ids = {cid for cid in criteria if not rows[cid]["existing_tests"]}
        assert open_ids <= set(asked), key
        for cid in set(criteria) - set(asked):  # a covered criterion left out: its words are not sent
            assert " ".join(criteria[cid].split())[:60] not in " ".join(prompt.split()), (key, cid)
        probed = set(asked) - open_ids
        for cid in probed:  # a covered criterion asked for only with the values its tests do not try
            assert f"Existing tests already verify" in prompt and f"[{cid}]" in prompt.split("Existing tests")[1]
        if open_ids == set(criteria):  # no existing test: the same prompt as in `all`
            assert prompt == everything[key], key
        else:
            assert len(prompt) < len(everything[key]), key
    assert set(dict(CRITERION.findall(prompts["ER-16"]))) < set(dict(CRITERION.findall(everything["ER-16"])))


def test_a_fully_covered_story_costs_no_call(runs):
    cs, prompts = runs["gaps"]
    _, everything = runs["all"]
    assert "ER-15" in everything and "ER-15" not in prompts
    notes = [f["message"] for f in cs["findings"] if f["code"] == "gap-mode" and f["story_key"] == "ER-15"]
    assert notes and "gets no new cases" in notes[0]


def test_every_open_criterion_still_gets_a_case(runs):
    cs, _ = runs["gaps"]
    for row in cs["coverage"]:
        assert row["status"] in ("covered", "gap-filled"), row
        if not row["existing_tests"]:
            assert row["new_cases"], row["criterion_id"]

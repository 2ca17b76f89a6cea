"""The prompt fitted to the model's context window, against the stub server over HTTP: rules and
examples left out lowest-ranked first and reported; thousands of criteria in batches, merged."""

from __future__ import annotations

import re

import pytest

from agent.generation.template import load_template
from agent.llm.generator import CONTEXT_TRIMMED, generator_for
from agent.llm.limits import estimate_tokens
from agent.llm.usage import usage_stats
from agent.models import AcceptanceCriterion, SourceRef, Story
from connectors.emulators.openai_chat import OpenAIStub, user_text

pytestmark = pytest.mark.xdist_group("openai_stub")


def _story(n_criteria: int) -> Story:
    return Story(key="ER-2", summary="Grant a payment extension", epic_key="ER-1",
                 criteria=[AcceptanceCriterion(id=f"ER-2/AC-{i}", story_key="ER-2",
                                               text=f"Extension rule {i} is applied and shown")
                           for i in range(1, n_criteria + 1)])


def _rules(n: int, size: int) -> list[tuple[SourceRef, str]]:
    return [(SourceRef(kind="page_section", id=f"RULE-{i}", title=f"Rule {i}"), f"rule {i} " + "x" * size)
            for i in range(1, n + 1)]


@pytest.fixture()
def stub():
    with OpenAIStub() as server:
        yield server


def _generator(stub, **options):
    return generator_for("openai-compatible:casewright-stub", {"model_base_url": stub.base_url, **options},
                         load_template(None))


def test_rules_that_do_not_fit_are_dropped_lowest_ranked_first_and_reported(stub):
    window, answer = 5000, 1000  # with the compact template of a small window, 2+ rules do not fit
    gen = _generator(stub, model_context_tokens=window, max_tokens=answer)
    rules = _rules(6, 3000)  # about 750 tokens each: not all fit in what the window leaves
    out = gen.generate_story(_story(3), rules=rules)
    assert out.cases and not out.fell_back
    sent = user_text(stub.requests[-1].body)
    kept = re.findall(r'id="(RULE-\d+)"', sent)
    assert kept and len(kept) < 6
    assert kept == [f"RULE-{i}" for i in range(1, len(kept) + 1)]  # the best-ranked stay
    system = stub.requests[-1].body["messages"][0]["content"]
    assert estimate_tokens(sent) + estimate_tokens(system) + answer <= window
    finding = next(f for f in out.findings if f.code == CONTEXT_TRIMMED)
    dropped = [f"RULE-{i}" for i in range(len(kept) + 1, 7)]
    assert all(f"rule {d}" in finding.message for d in dropped) and "5000-token" in finding.message
    assert finding.message.index(f"rule {dropped[-1]}") < finding.message.index(f"rule {dropped[0]}")
    assert usage_stats(out.usage)["context_dropped"] == len(dropped)


def test_a_prompt_that_fits_is_sent_whole(stub):
    gen = _generator(stub, model_context_tokens=128_000)
    out = gen.generate_story(_story(3), rules=_rules(6, 3000))
    assert len(re.findall(r'id="(RULE-\d+)"', user_text(stub.requests[-1].body))) == 6
    assert not [f for f in out.findings if f.code == CONTEXT_TRIMMED]


def test_thousands_of_criteria_are_generated_in_batches_and_merged(stub):
    story = _story(2000)
    gen = _generator(stub, model_context_tokens=32_000, criteria_per_call=250)
    out = gen.generate_story(story)
    assert not out.fell_back and len(stub.requests) == 8
    covered = {cid for case in out.cases for cid in case.criterion_ids}
    assert covered == {c.id for c in story.criteria}
    ids = [case.id for case in out.cases]
    assert len(ids) == len(set(ids))  # merged once: no case id twice
    for request in stub.requests:  # each batch names only its own criteria
        assert len(re.findall(r"\[ER-2/AC-\d+\]", user_text(request.body))) <= 250


def test_a_small_window_halves_the_batches_until_they_fit(stub):
    story = _story(300)
    window, answer = 4000, 500
    gen = _generator(stub, model_context_tokens=window, max_tokens=answer, criteria_per_call=300)
    out = gen.generate_story(story)
    assert not out.fell_back and len(stub.requests) > 1
    for request in stub.requests:
        text = " ".join(m["content"] for m in request.body["messages"])
        assert estimate_tokens(text) <= window - answer + 5
    assert {cid for case in out.cases for cid in case.criterion_ids} == {c.id for c in story.criteria}

"""Requests and tokens per minute held across the fan-out: many stories generated at once by one
shared generator, against the stub server over HTTP. (429 + Retry-After: test_openai_compatible.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from agent.generation.template import load_template
from agent.llm.generator import LLMGenerator, generator_for
from agent.llm.limits import RateLimits
from agent.llm.provider import ModelOptions, build_chat_model, parse_model
from agent.llm.usage import usage_stats
from agent.models import AcceptanceCriterion, Story
from connectors.emulators.openai_chat import OpenAIStub

pytestmark = pytest.mark.xdist_group("openai_stub")


def _story(n: int) -> Story:
    key = f"ER-{n}"
    return Story(key=key, summary=f"Story {n}", epic_key="ER-1",
                 criteria=[AcceptanceCriterion(id=f"{key}/AC-1", story_key=key, text=f"Outcome {n} is shown")])


def _fan_out(generator: LLMGenerator, stories: list[Story]) -> list:
    with ThreadPoolExecutor(max_workers=len(stories)) as pool:
        return list(pool.map(generator.generate_story, stories))


def test_requests_per_minute_hold_across_the_fan_out():
    with OpenAIStub() as stub:
        options = {"model_base_url": stub.base_url, "requests_per_minute": 240}  # 4 a second
        generator = generator_for("openai-compatible:casewright-stub", options, load_template(None))
        outs = _fan_out(generator, [_story(n) for n in range(2, 10)])
        assert all(o.cases and not o.fell_back for o in outs)
        times = sorted(r.received_at for r in stub.requests)
        assert len(times) == 8
        gaps = [b - a for a, b in zip(times, times[1:])]
        # one request per 0.25 s, whatever the eight threads want
        assert times[-1] - times[0] >= 7 * 0.25 * 0.9
        assert min(gaps) >= 0.25 * 0.6


def test_no_limit_means_the_fan_out_is_parallel():
    with OpenAIStub(latency_s=0.3) as stub:
        generator = generator_for("openai-compatible:casewright-stub", {"model_base_url": stub.base_url},
                                  load_template(None))
        _fan_out(generator, [_story(n) for n in range(2, 8)])
        assert stub.max_in_flight >= 4


def test_tokens_per_window_hold_across_the_fan_out():
    with OpenAIStub() as stub:
        spec = parse_model("openai-compatible:casewright-stub")
        opts = ModelOptions.of(spec.label, {"model_base_url": stub.base_url, "max_tokens": 400})
        model = build_chat_model(opts, spec)
        # each call reserves its prompt (~250 tokens) + max_tokens 400: two fit in 1400, a third waits
        limits = RateLimits.per_minute(None, 1400, window_s=1.5)
        generator = LLMGenerator(model, spec=spec, method="json_schema", limits=limits)
        outs = _fan_out(generator, [_story(n) for n in range(2, 8)])
        assert all(o.cases for o in outs)
        times = sorted(r.received_at for r in stub.requests)
        # six calls, at most a few per window: they spread over more than one window
        assert times[-1] - times[0] >= 1.5
        for t in times:
            in_window = [u for u in times if t <= u < t + 1.5 * 0.95]
            assert len(in_window) <= 3


def test_report_shows_cost_per_node():
    usage = {"generate": {"calls": 2, "input_tokens": 1_000_000, "output_tokens": 100_000},
             "plan": {"calls": 1, "input_tokens": 200_000, "output_tokens": 0}}
    stats = usage_stats(usage, 3.0, 15.0)
    assert stats["generate_cost_usd"] == 4.5 and stats["plan_cost_usd"] == 0.6
    assert stats["cost_usd"] == 5.1
    assert "generate_cost_usd" not in usage_stats(usage)

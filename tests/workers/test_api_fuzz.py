"""Schemathesis against `casewright serve`'s app (in process, real Redis DB 5, no worker): for
every operation of its own OpenAPI document, generated requests, valid and invalid, never get a
5xx, and every answer (status, content type, headers, body) matches the document.

Bounded: `MAX_EXAMPLES` per operation and generation mode, no example database, derandomized,
so each run makes the same calls. The webhook secret is unset here so that generated bodies reach
the payload checks (signatures are covered in test_api.py). Schemathesis' own pytest plugin
(`from_fixture`) does not run under the pinned pytest 9, so the operations' Hypothesis strategies
are driven directly."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from support.service import cleanup, make_settings, unique_prefix

DB = 5
API_KEY = "fuzz-api-key"
MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    prefix = unique_prefix("fuzz")
    s = make_settings(DB, prefix, api_key=API_KEY, data_dir=tmp_path_factory.mktemp("fuzz") / "data")
    from workers.api import create_app

    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(s))
    cleanup(DB, prefix)


def fuzz(schema, mode: GenerationMode, headers: dict[str, str]) -> dict[str, int]:
    """Run every operation's strategy; the calls made, by operation."""
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=mode))
        def one(case) -> None:  # noqa: ANN001
            response = case.call(headers=headers)
            case.validate_response(response, headers=headers)
            calls[op.label] = calls.get(op.label, 0) + 1

        try:
            one()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to call
            assert mode is GenerationMode.NEGATIVE, op.label
    return calls


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_answer_matches_the_document(api_schema, mode):
    calls = fuzz(api_schema, mode, {"X-API-Key": API_KEY})
    print(f"\nschemathesis ({mode.value}) calls against casewright serve: {sum(calls.values())} {calls}")
    assert {"POST /webhooks/jira", "POST /jobs", "GET /jobs/{job_id}"} <= set(calls)

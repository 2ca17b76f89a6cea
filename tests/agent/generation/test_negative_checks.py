"""House negative checks for REST stories come from the template's `negative_checks` list, not
from the generator: the default list keeps today's checks, each can be switched off, and the
opt-in ones (no credentials, wrong Content-Type, unknown body field) appear only when listed."""

from __future__ import annotations

from agent.generation.rules import generate_for_story
from agent.generation.template import DEFAULT_NEGATIVE_CHECKS, load_template
from agent.models import AcceptanceCriterion, Parameter, Story


def _story(method: str = "POST", extra: str = "") -> Story:
    key = "SHOP-3"
    texts = ["The API returns 201 with the created order.",
             "An invalid quantity or a missing sku returns 400 with an error message.",
             "An unknown customerId returns 404.", *([extra] if extra else [])]
    return Story(key=key, summary="Create an order", method=method, endpoint="/customers/{customerId}/orders",
                 criteria=[AcceptanceCriterion(id=f"{key}/AC-{n}", story_key=key, text=t) for n, t in enumerate(texts, 1)],
                 parameters=[Parameter(name="customerId", location="path", required=True, type="string", format="uuid"),
                             Parameter(name="sku", location="query", required=True, type="string"),
                             Parameter(name="channel", location="query", type="string", enum=["web", "store"]),
                             Parameter(name="body", location="body", description='e.g. {"quantity": 2}')])


def _template(tmp_path, checks: str):
    path = tmp_path / "house.yaml"
    path.write_text(f"negative_checks: {checks}\n", encoding="utf-8")
    return load_template(path)


def _titles(story: Story, template) -> list[str]:
    return [c.title for c in generate_for_story(story, template).cases]


def test_the_default_keeps_the_parameter_checks_and_the_bundled_template_lists_the_default():
    assert load_template().negative_checks == list(DEFAULT_NEGATIVE_CHECKS)
    titles = " | ".join(_titles(_story(), load_template()))
    assert "rejects a request without sku" in titles and "rejects an unsupported channel" in titles
    assert "answers 404 for an unknown customerId" in titles
    assert "plain text" not in titles and "unknown field" not in titles


def test_each_parameter_check_can_be_switched_off(tmp_path):
    titles = " | ".join(_titles(_story(), _template(tmp_path, "[unknown_id]")))
    assert "answers 404 for an unknown customerId" in titles
    assert "rejects a request without sku" not in titles and "unsupported channel" not in titles


def test_opt_in_checks_appear_when_listed_and_a_criterion_naming_the_code_governs_them(tmp_path):
    template = _template(tmp_path, "[missing_auth, wrong_content_type, unknown_fields]")
    story = _story(extra="A body that is not JSON returns 415 Unsupported Media Type.")
    cases = {c.title: c for c in generate_for_story(story, template).cases}
    plain = next(c for t, c in cases.items() if "plain text" in t)
    assert plain.criterion_ids == ["SHOP-3/AC-4"] and "415" in plain.model_dump_json()
    unknown = next(c for t, c in cases.items() if "unknown field" in t)
    assert unknown.criterion_ids == ["SHOP-3/AC-2"]  # the criterion that names 400
    auth = next(c for t, c in cases.items() if "without credentials" in t)
    assert auth.criterion_ids == [] and "standard-check" in auth.labels and "401" in auth.model_dump_json()
    assert not any("rejects a request without sku" in t for t in cases)


def test_body_checks_are_not_written_for_a_call_without_a_body(tmp_path):
    story = _story(method="GET").model_copy(update={"parameters": _story().parameters[:3]})
    titles = " | ".join(_titles(story, _template(tmp_path, "[missing_auth, wrong_content_type, unknown_fields]")))
    assert "without credentials" in titles and "plain text" not in titles and "unknown field" not in titles

"""The house template shapes ids, titles, priorities, personas and labels."""

import pytest

from agent.generation.rules import generate_for_story
from agent.generation.template import BUNDLED_TEMPLATE, TemplateError, load_template
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace


@pytest.fixture(scope="module")
def story():
    bundle = load_epic(open_workspace("sample", "ER-1"), "ER-1")
    return next(s for s in bundle.stories if s.key == "ER-5")


def test_a_team_template_changes_how_cases_look(tmp_path, story):
    custom = tmp_path / "team.yaml"
    custom.write_text(
        "name: Team Kestrel\n"
        "id_pattern: 'TC-{story}-{seq:03d}'\n"
        "title_style: 'Check: {behaviour}'\n"
        "priorities:\n  levels: [P1, P2, P3]\n  by_kind: {positive: P2, negative: P1, boundary: P3, end_to_end: P1}\n"
        "labels:\n  include: [kestrel, '{story}']\n  lowercase: false\n"
        "default_persona: Billing clerk\n"
    )
    template = load_template(custom)
    cases = generate_for_story(story, template).cases
    assert cases
    assert cases[0].id == "TC-ER-5-001"
    assert all(c.title.startswith("Check: ") for c in cases)
    assert {c.priority for c in cases} <= {"P1", "P2", "P3"}
    assert all(c.labels[:2] == ["kestrel", "ER-5"] for c in cases)
    assert any(c.persona == "Billing clerk" for c in cases)


def test_bundled_template_loads():
    t = load_template(BUNDLED_TEMPLATE)
    assert t.case_id("ER-12", 3) == "ER-UAT-12-03"
    assert t.title("The bill is paid.") == "Verify that the bill is paid"


@pytest.mark.parametrize("text,needle", [
    ("id_pattern: '{nope}'\n", "id_pattern"),
    ("fields: [id, colour]\n", "unknown field"),
    ("title_style: [1, 2\n", "not valid YAML"),
    ("- a list\n", "mapping"),
    ("priority: High\n", "priority"),
])
def test_bad_templates_get_a_clear_error(tmp_path, text, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(TemplateError) as exc:
        load_template(bad)
    assert needle in str(exc.value)


def test_missing_template_names_the_setting(tmp_path):
    with pytest.raises(TemplateError, match="CASEWRIGHT_TEMPLATE"):
        load_template(tmp_path / "nope.yaml")

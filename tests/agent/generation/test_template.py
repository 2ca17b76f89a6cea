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


@pytest.mark.parametrize("text,where,advice", [
    ("priorities:\n  levels: []\n", "priorities.levels", "list the priority levels"),
    ("priorities:\n  levels: [P1, P1]\n", "priorities.levels", "once"),
    ("priorities:\n  levels: [P1, P2]\n", "priorities", "use one of the levels"),
    ("id_pattern: '{project}-UAT-{story_number}'\n", "id_pattern", "include {seq}"),
    ("id_pattern: 'TC-{seq:02d}'\n", "id_pattern", "{story} or {story_number}"),
    ("id_pattern: '{project}-{story}-{sequence}'\n", "id_pattern", "use only {project}"),
    ("id_pattern: '{story}-{seq'\n", "id_pattern", "literal braces"),
    ("title_style: 'Check {behavior}'\n", "title_style", "use only {behaviour}"),
    ("title_style: 'Check it'\n", "title_style", "include it"),
    ("labels:\n  include: ['{team}']\n", "labels.include", "use only {kind}"),
    ("standard_checks:\n  api:\n    - {title: '{verb} {endpoint}', data: d, expected: e}\n",
     "standard_checks.api.0.title", "use only {method}"),
    ("colour: red\n", "colour", "remove it or use one of: name, id_pattern"),
    ("priorities:\n  level: [P1]\n", "priorities.level", "remove it or use one of: levels, by_kind"),
    ("personas:\n  - {match: [x], persona: y, colour: z}\n", "personas.0.colour", "use one of: match, persona"),
    ("steps:\n  max: 0\n", "steps.max", "greater than or equal to 1"),
    ("negative_checks: [missing_auth, wrong_mime]\n", "negative_checks", "choose from missing_required"),
    ("negative_checks: missing_auth\n", "negative_checks", "valid list"),
    ("response_time: fast\n", "response_time", "e.g. '2 seconds' or '500 ms'"),
])
def test_template_problems_are_found_on_load_naming_file_field_and_fix(tmp_path, text, where, advice):
    bad = tmp_path / "team.yaml"
    bad.write_text(text)
    with pytest.raises(TemplateError) as exc:
        load_template(bad)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"house template {bad}: {where}: ")
    assert advice in message


def test_every_accepted_template_gives_unique_ids_across_an_epic(tmp_path):
    template = load_template(BUNDLED_TEMPLATE)
    ids = {template.case_id(f"ER-{story}", seq) for story in range(1, 20) for seq in range(1, 40)}
    assert len(ids) == 19 * 39

"""The deterministic generator and review on the sample project and the LAJ development slice."""

import csv

import pytest

from agent.generation.drafts import fingerprint_steps
from agent.generation.rules import generate_for_story
from agent.generation.template import BUNDLED_TEMPLATE as BUNDLED, load_template
from agent.intake.criteria import extract
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace
from agent.models import Story
from agent.review.coverage import review_cases
from support import LAJ as LAJ_DIR

TICKETS = LAJ_DIR / "tickets.csv"


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def sample_epics():
    ws = open_workspace("sample", "ER-1")
    epics = [i["key"] for i in ws.issues if i["fields"]["issuetype"]["name"] == "Epic"]
    return [load_epic(ws, key) for key in epics]


def _laj_stories():
    assert TICKETS.exists(), f"LAJ development slice missing at {TICKETS}"
    rows = list(csv.DictReader(TICKETS.open(encoding="utf-8")))
    stories = []
    for r in rows:
        key = f"KB-{r['id']}"
        criteria, params, endpoint = extract(key, r["description"], "")
        stories.append((int(r["id"]), Story(key=key, summary=r["title"], description=r["description"],
                                            criteria=criteria, parameters=params, epic_key="KB-0",
                                            method=endpoint[0] if endpoint else None,
                                            endpoint=endpoint[1] if endpoint else None)))
    return stories


def test_every_sample_criterion_is_covered_without_duplicates(template, sample_epics):
    for bundle in sample_epics:
        cases = []
        for story in bundle.stories:
            cases += generate_for_story(story, template).cases
        findings, table = review_cases(bundle.stories, cases, template)
        uncovered = [row.criterion_id for row in table if not row.case_ids]
        assert not uncovered, f"{bundle.epic.key}: uncovered {uncovered}"
        assert not [f for f in findings if f.code in {"duplicate-case", "duplicate-id", "malformed-case"}], findings
        assert len({fingerprint_steps(c.steps) for c in cases}) == len(cases)


def test_cases_read_like_a_tester_wrote_them(template, sample_epics):
    stories = {s.key: s for b in sample_epics for s in b.stories}
    cases = generate_for_story(stories["ER-2"], template).cases
    for case in cases:
        assert case.title.startswith("Verify that ")
        assert case.persona and case.preconditions and case.steps
        assert all(step.action and step.expected for step in case.steps)
        assert case.story_key == "ER-2" and all(i.startswith("ER-2/AC-") for i in case.criterion_ids)
        assert any(s.kind == "criterion" for s in case.sources)
    # Gherkin givens become preconditions, the Then clauses the expected results
    first = cases[0]
    crit = stories["ER-2"].criteria[0]
    assert any(crit.given[0].rstrip(".").lower() in p.lower() for p in first.preconditions)
    assert crit.then[0].split()[-1].strip('".').lower() in first.steps[-1].expected.lower()


def test_story_without_criteria_gets_no_invented_cases(template, sample_epics):
    bundle = sample_epics[0]
    empty = [s for s in bundle.stories if not s.criteria]
    assert empty, "the sample project has a story with no criteria"
    assert generate_for_story(empty[0], template).cases == []


def test_vague_story_cases_are_low_confidence(template, sample_epics):
    vague = [s for b in sample_epics for s in b.stories if s.criteria and all(c.vague for c in s.criteria)]
    assert vague, "the sample project has a story with only vague criteria"
    cases = generate_for_story(vague[0], template).cases
    assert cases and all(c.confidence == "low" for c in cases)


@pytest.mark.parametrize("kind_of_limit,text,inside,outside", [
    ("max", "The extension must be at most 21 days.", "21 days", "22 days"),
    ("min", "The balance must be at least $50.00 before an extension is offered.", "$50.00", "$49.99"),
    ("gt", "Team Leader approval is required for balances over $2,500.", "$2,500.01", "$2,500.00"),
])
def test_limits_get_boundary_cases_inside_and_outside(template, kind_of_limit, text, inside, outside):
    criteria, _, _ = extract("XY-1", "", text)
    story = Story(key="XY-1", summary="Grant a payment extension", criteria=criteria, epic_key="XY-0")
    boundary = [c for c in generate_for_story(story, template).cases if c.kind == "boundary"]
    values = {v for c in boundary for v in c.test_data.values()}
    assert inside in values and outside in values, values


def test_enumerations_and_permissions(template):
    text = ("The card type must be one of Pensioner Concession Card, Health Care Card or DVA Gold Card.\n"
            "Only Team Leaders can approve an extension above the agent limit.")
    criteria, _, _ = extract("XY-2", "", text)
    story = Story(key="XY-2", summary="Apply a concession", criteria=criteria, epic_key="XY-0")
    cases = generate_for_story(story, template).cases
    titles = " ".join(c.title for c in cases)
    for value in ("Pensioner Concession Card", "Health Care Card", "DVA Gold Card"):
        assert value in titles
    assert any(c.kind == "negative" and "outside" in c.title for c in cases)
    assert any(c.kind == "negative" and "Team Leader" in c.title for c in cases)


def test_laj_tickets_every_criterion_and_required_parameter_is_exercised(template):
    for tid, story in _laj_stories():
        if tid > 30:
            continue
        result = generate_for_story(story, template)
        covered = {i for c in result.cases for i in c.criterion_ids}
        assert {c.id for c in story.criteria} <= covered, story.key
        # every status code named by the criteria appears in some expected result
        codes = {w for c in story.criteria for w in c.text.replace("(", " ").split() if w.isdigit() and len(w) == 3}
        expected = " ".join(s.expected for c in result.cases for s in c.steps)
        assert all(code in expected for code in codes), (story.key, codes)
        # each required non-path parameter has a case that leaves it out
        for p in story.parameters:
            if p.required and p.location not in {"path"}:
                assert any(p.name in c.objective for c in result.cases if c.kind == "negative"), (story.key, p.name)
        ids = [c.id for c in result.cases]
        assert len(ids) == len(set(ids))


def test_review_flags_uncovered_and_malformed(template, sample_epics):
    bundle = sample_epics[0]
    story = next(s for s in bundle.stories if len(s.criteria) > 2)
    cases = generate_for_story(story, template).cases
    dropped = [c for c in cases if story.criteria[0].id not in c.criterion_ids]
    broken = dropped[0].model_copy(update={"objective": "", "priority": "Urgent"})
    findings, table = review_cases([story], dropped[1:] + [broken, broken], template)
    codes = {f.code for f in findings}
    assert {"uncovered-criterion", "malformed-case", "duplicate-id", "duplicate-case"} <= codes


def test_house_standard_checks_apply_to_rest_stories_only(template, sample_epics):
    _, story = next((tid, s) for tid, s in _laj_stories() if tid == 12)
    cases = generate_for_story(story, template).cases
    standard = [c for c in cases if "standard-check" in c.labels]
    assert len(standard) == len(template.standard_checks["api"])
    assert any("401" in c.steps[0].expected for c in standard)
    assert all(not c.criterion_ids and c.confidence == "medium" for c in standard)
    findings, _ = review_cases([story], cases, template)
    assert not [f for f in findings if f.code == "malformed-case"]
    ui = [c for b in sample_epics for s in b.stories for c in generate_for_story(s, template).cases]
    assert not [c for c in ui if "standard-check" in c.labels]


def test_house_injection_checks_target_the_free_text_input(template):
    """The SQL injection check goes into the first path/query parameter, the script (XSS) check into
    the first free-text query or header parameter, and falls back to the path id where there is none."""
    stories = dict(_laj_stories())

    def attack(tid: int, words: str) -> str:
        case = next(c for c in generate_for_story(stories[tid], template).cases if words in c.title)
        return case.test_data["Variation"]

    assert attack(24, "(XSS)").startswith("pluginProperty=<script>")      # array of strings in the query
    assert attack(13, "(XSS)").startswith("X-Killbill-CreatedBy=<script>")  # free-text header only
    assert attack(1, "(XSS)").startswith("accountId=<script>")            # only enums, booleans and a UUID
    assert attack(1, "SQL injection").startswith("accountId=' OR 1=1")


def test_response_time_check_takes_the_tickets_figure_else_the_templates_else_none(template, tmp_path):
    stories = dict(_laj_stories())
    story = stories[11]

    def timed(s, tpl):
        return [c for c in generate_for_story(s, tpl).cases if "answers within" in c.title]

    [house] = timed(story, template)
    assert template.response_time and template.response_time in house.steps[0].expected
    assert "standard-check" in house.labels and not house.criterion_ids
    stated = story.description.replace(
        "Success Scenario:\n", "Success Scenario:\n- The API responds within 300 ms under normal load.\n")
    criteria, params, _ = extract(story.key, stated, "")
    [own] = timed(story.model_copy(update={"description": stated, "criteria": criteria, "parameters": params}),
                  template)
    assert "within 300 ms" in own.title and "300 ms" in own.steps[0].expected
    assert own.criterion_ids == [criteria[0].id] and "standard-check" not in own.labels  # the ticket's own target
    bare = tmp_path / "no-target.yaml"
    bare.write_text(BUNDLED.read_text(encoding="utf-8").replace('response_time: "2 seconds"', 'response_time: ""'))
    assert timed(story, load_template(bare)) == []   # no figure from anywhere: none is invented


def test_boolean_and_combined_optional_parameters(template):
    _, story = next((tid, s) for tid, s in _laj_stories() if tid == 12)
    titles = [c.title for c in generate_for_story(story, template).cases]
    assert any("treatNullAsReset=true" in t for t in titles) and any("treatNullAsReset=false" in t for t in titles)
    assert any("every optional parameter" in t for t in titles)


def test_a_linked_test_outside_the_house_format_is_reported_not_used():
    import copy
    import json

    from connectors.workspace import SAMPLE_PATH, parse_workspace

    doc = json.loads(SAMPLE_PATH.read_text())
    test = next(i for i in doc["issues"] if i["fields"]["issuetype"]["name"] == "Test")
    test = copy.deepcopy(test)
    story_key = next(l for l in test["fields"]["issuelinks"])["outwardIssue"]["key"]
    for issue in doc["issues"]:
        if issue["key"] == test["key"]:
            issue["fields"]["description"] = "Just click around and see if it works."
    ws = parse_workspace(doc)
    epic = next(i for i in doc["issues"] if i["key"] == story_key)["fields"]["parent"]["key"]
    bundle = load_epic(ws, epic)
    assert any(f.code == "unreadable-test" and f.case_id == test["key"] for f in bundle.findings)
    story = next(s for s in bundle.stories if s.key == story_key)
    assert test["key"] not in {c.id for c in story.approved_cases}


def test_unknown_story_filter_names_the_keys():
    from agent.intake.epic import UnknownEpicError

    with pytest.raises(UnknownEpicError, match="ER-99"):
        load_epic(open_workspace("sample", "ER-1"), "ER-1", story_keys=["ER-2", "ER-99"])

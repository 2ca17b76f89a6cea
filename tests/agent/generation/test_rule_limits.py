"""Grounding: limits in retrieved rule sections become boundary cases that cite the chunk, and the
style of similar approved cases carries over to stories without their own."""

from __future__ import annotations

import json

from agent.generation.rule_limits import rule_limits_for, rule_sentences
from agent.generation.rules import generate_for_story
from agent.generation.style import style_from_similar_cases
from agent.generation.template import load_template
from agent.intake.epic import parse_page, parse_story
from agent.models import AcceptanceCriterion
from connectors.chunking import page_chunks
from connectors.workspace import SAMPLE_PATH, load_workspace

TABLE = """Customer | Maximum extension from the original due date | Who can grant
Standard customer | 21 calendar days | Agent
Customer with an active hardship flag | 35 calendar days | Agent"""


def _criterion(text: str, cid: str = "X-1/AC-1") -> AcceptanceCriterion:
    return AcceptanceCriterion(id=cid, story_key="X-1", text=text)


def _ctx(text: str, cid: str = "page:1#limits", title: str = "Rules > Limits") -> dict:
    return {"id": cid, "title": title, "text": text, "kind": "page_section", "url": "https://wiki/1", "score": 0.03}


def test_rule_sentences_read_bullets_and_table_rows():
    text = "- The balance must be at least $50.00 and no more than $5,000.00.\n- Agents are friendly.\n\n" + TABLE
    sentences = rule_sentences(text)
    assert sentences[0] == "The balance must be at least $50.00 and no more than $5,000.00."
    assert "Maximum extension from the original due date for Standard customer: up to 21 calendar days" in sentences
    assert not any("friendly" in s for s in sentences)


def test_the_rule_that_bears_on_the_criterion_is_chosen():
    ctx = [_ctx(TABLE), _ctx("Concession cards must be valid for at least 30 days.", "page:2#c", "Concessions")]
    story = parse_story(load_workspace(SAMPLE_PATH), load_workspace(SAMPLE_PATH).issue("ER-2"), epic_key="ER-1",
                        ac_field_name="Acceptance Criteria", test_issue_type="Test")
    standard = rule_limits_for(story, _criterion(
        "Given a verified caller without a hardship flag, when the Agent selects a date beyond the maximum "
        "extension from the original due date, then the date is refused"), ctx)
    assert [s for s, _ in standard] == [
        "Maximum extension from the original due date for Standard customer: up to 21 calendar days"]
    assert standard[0][1].id == "page:1#limits" and standard[0][1].kind == "page_section"
    hardship = rule_limits_for(story, _criterion("A customer with a hardship flag gets the hardship maximum "
                                                 "extension from the original due date"), ctx)
    assert hardship[0][0].endswith("up to 35 calendar days")
    assert rule_limits_for(story, _criterion("The SMS names the new due date"), [_ctx("Concession cards must "
                                                                                     "be valid for at least 30 days.")]) == []


def test_the_generator_turns_retrieved_limits_into_cited_boundary_cases():
    ws = load_workspace(SAMPLE_PATH)
    story = parse_story(ws, ws.issue("ER-2"), epic_key="ER-1", ac_field_name="Acceptance Criteria",
                        test_issue_type="Test")
    page = parse_page(ws, ws.page("200001"))
    retrieved = [{**_ctx(c.text, c.id, c.title), "url": c.url} for c in page_chunks(page.model_dump())]
    template = load_template(None)
    plain = generate_for_story(story, template, [])
    grounded = generate_for_story(story, template, retrieved)
    dump = lambda cases: json.dumps([c.model_dump() for c in cases])  # noqa: E731
    for value in ("$5,000.00", "$5,000.01", "21 calendar days"):
        assert value not in dump(plain.cases)
        assert value in dump(grounded.cases), value
    boundary = [c for c in grounded.cases if c.kind == "boundary" and "$5,000.01" in c.model_dump_json()]
    assert boundary
    for case in boundary:
        page_refs = [s for s in case.sources if s.kind == "page_section"]
        assert page_refs and page_refs[0].id == "page:200001#eligibility"
        assert page_refs[0].title == "Payment Extension Rules > Eligibility"


def test_style_of_similar_approved_cases_carries_over_with_citations():
    def case(cid, persona, pre):
        return {"id": cid, "title": f"{cid} Verify", "kind": "test_case", "text": "", "url": None, "score": 0.1,
                "extra": {"persona": persona, "preconditions": pre}}

    login = "Agent is logged in to the service console"
    retrieved = [_ctx("irrelevant"), case("ER-19", "Contact Centre Agent (Tier 1)", [login, "Account 4001 is Active"]),
                 case("ER-22", "Contact Centre Agent (Tier 1)", [login, "Account 5002 has arrears"]),
                 case("ER-33", "Team Leader", [login])]
    ws = load_workspace(SAMPLE_PATH)
    story = parse_story(ws, ws.issue("ER-6"), epic_key="ER-1", ac_field_name="Acceptance Criteria",
                        test_issue_type="Test")
    persona, pre, sources = style_from_similar_cases(story, retrieved)
    assert persona == "Contact Centre Agent (Tier 1)"
    assert pre == [login]  # shared set-up only, not one case's account
    assert [s.id for s in sources] == ["ER-19", "ER-22"] and all(s.kind == "test_case" for s in sources)
    assert style_from_similar_cases(story, [_ctx("x")]) == (None, [], [])
    result = generate_for_story(story.model_copy(update={"approved_cases": []}), load_template(None), retrieved)
    assert result.cases and all(c.persona == persona for c in result.cases)
    assert all({"ER-19", "ER-22"} <= {s.id for s in c.sources} for c in result.cases)

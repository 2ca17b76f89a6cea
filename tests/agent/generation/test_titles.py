"""Scenario names are complete and short: shortened by rule (asides, places, qualifiers and trailing
clauses dropped, a long quotation said as 'a message'), never cut mid-phrase or with an ellipsis."""

from __future__ import annotations

import pytest

from agent.evaluation.style import style_counts, truncated
from agent.generation.phrasing import shorten
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.epic import parse_page, parse_story
from agent.models import AcceptanceCriterion, CaseSet, Epic, Story
from agent.renderers.gherkin import story_feature
from connectors.chunking import page_chunks
from connectors.workspace import SAMPLE_PATH, load_workspace


def _sample_stories() -> tuple[list[Story], list[dict]]:
    ws = load_workspace(SAMPLE_PATH)
    stories = []
    for issue in ws.issues:
        if issue["fields"].get("issuetype", {}).get("name") != "Story":
            continue
        stories.append(parse_story(ws, issue, epic_key=(issue["fields"].get("parent") or {}).get("key"),
                                   ac_field_name="Acceptance Criteria", test_issue_type="Test"))
    chunks = [c for p in ws.pages for c in page_chunks(parse_page(ws, p).model_dump())]
    return stories, [{"id": c.id, "title": c.title, "text": c.text, "kind": c.kind, "url": c.url,
                      "source_id": c.source_id} for c in chunks]


@pytest.mark.parametrize("text, limit, kept, gone", [
    # a screen location goes before the condition that carries the meaning
    ("the Agent adds an authorised person from the Authorised Persons related list on the Account only after "
     "the account holder is verified", 100, "adds an authorised person only after the account holder is verified",
     "related list"),
    # a qualifier between the subject and its verb goes, the verb stays
    ("a plan confirmation email with the instalment schedule is sent to the account email address", 40,
     "a plan confirmation email is sent", "schedule"),
    # a relative clause alone is no sentence: the long message is said as 'a message' instead
    ('a card holder name that does not match the account holder or listed partner shows "Card holder must be '
     'the account holder or their partner"', 100, "does not match the account holder or listed partner shows a message",
     "Card holder must"),
    # a phrase after 'be' is the predicate, not a place; the second alternative goes as a whole
    ("the move-in date cannot be in the past or more than 30 days ahead", 45, "the move-in date cannot be in the past",
     "more than 30"),
])
def test_long_wordings_are_shortened_by_rule(text, limit, kept, gone):
    out = shorten(text, limit)
    assert len(out) <= limit and kept in out and gone not in out, out
    assert not truncated(out) and not out.endswith(("the", "a", "and", "of", "with", "only")), out


def test_a_quotation_is_never_cut_inside():
    out = shorten('the quick action shows "Balance exceeds your limit - refer to a Hardship Specialist" and the '
                  'Save button is disabled', 60)
    assert out.count('"') in (0, 2) and len(out) <= 60, out


def test_boundary_names_keep_the_criterion_words_whole():
    story = Story(key="LIB-2", summary="Renew a loan", criteria=[AcceptanceCriterion(
        id="LIB-2/AC-1", story_key="LIB-2",
        text="A member with no overdue items on the account page can renew a loan from the Loans related list for "
             "at most 3 weeks")])
    cases = generate_for_story(story, load_template(), None).cases
    names = [c.title for c in cases if c.kind == "boundary"]
    assert names and all("…" not in n and len(n) <= load_template().title_max_length for n in names), names
    assert all("3 weeks" in n or "4 weeks" in n for n in names), names


def test_the_sample_project_has_no_truncated_names():
    stories, rules = _sample_stories()
    template = load_template()
    for story in stories:
        cases = generate_for_story(story, template, rules).cases
        for case in cases:
            assert not truncated(case.title) and len(case.title) <= template.title_max_length, case.title
        feature = story_feature(CaseSet(epic=Epic(key="E", summary="e"), stories=[story]), story, cases)
        assert style_counts(feature).counts["truncated_name"] == 0


def test_the_truncation_measure_sees_a_cut_inside_a_name():
    assert truncated("Verify that the Agent grants an… with $50.00 (just inside 'at least $50.00')")
    assert truncated('Verify that the flow shows "Not enough notice')
    assert not truncated('Verify that the flow shows "Not enough notice" and no read is booked')


def test_a_message_left_out_takes_its_introduction_along_and_a_leading_condition_goes_before_a_cut():
    assert shorten('a card that expires too soon is rejected with the message "Card expires within 30 days - ask the '
                   'customer to apply after renewal."', 60) == "a card that expires too soon is rejected"
    out = shorten('With less than the required notice the flow shows "Not enough notice for a special read - the final '
                  'bill will use the next scheduled read" and no special read is booked', 44)
    assert out == "the flow shows a message", out
    # a coordinated noun after a dropped qualifier goes with it
    out = shorten("an authorised person who calls in is verified with their own date of birth and the service address, "
                  "and the console shows the banner", 80)
    assert "and the service address" not in out and out.endswith("the console shows the banner"), out

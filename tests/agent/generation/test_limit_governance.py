"""Each limit is probed once per story, under the criterion whose own words or cited rule govern it."""

from __future__ import annotations

from agent.generation.limit_governance import govern_limits
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.epic import parse_page, parse_story
from agent.models import AcceptanceCriterion, Story
from connectors.chunking import page_chunks
from connectors.workspace import SAMPLE_PATH, load_workspace


def _rule(text: str, page: str = "7", section: str = "limits") -> dict:
    return {"id": f"page:{page}#{section}", "title": f"Rules {page} > {section}", "text": text, "kind": "page_section",
            "url": f"https://wiki/{page}", "source_id": page}


def _probes(cases) -> dict[str, list[str]]:
    """Value under test -> the criteria its boundary case traces to."""
    return {c.test_data["Value under test"]: c.criterion_ids for c in cases if c.kind == "boundary"}


def _sample(key: str) -> tuple[Story, list[dict]]:
    ws = load_workspace(SAMPLE_PATH)
    issue = ws.issue(key)
    story = parse_story(ws, issue, epic_key=(issue["fields"].get("parent") or {}).get("key"),
                        ac_field_name="Acceptance Criteria", test_issue_type="Test")
    chunks = [c for p in ws.pages for c in page_chunks(parse_page(ws, p).model_dump())]
    return story, [{"id": c.id, "title": c.title, "text": c.text, "kind": c.kind, "url": c.url,
                    "source_id": c.source_id} for c in chunks]


def test_the_team_leader_threshold_is_probed_under_the_approval_criterion_only():
    story, retrieved = _sample("ER-2")
    probes = _probes(generate_for_story(story, load_template(), retrieved).cases)
    assert probes["$2,500.01"] == ["ER-2/AC-5"] and probes["$2,500.00"] == ["ER-2/AC-5"]
    assert probes["3 payment extensions in any rolling 12 months"] == ["ER-2/AC-4"]
    assert probes["35 calendar days"] == ["ER-2/AC-3"]
    assert all(len(ids) == 1 for ids in probes.values()), probes


def test_a_story_takes_limits_from_the_pages_it_cites_when_retrieval_found_them():
    story, retrieved = _sample("ER-3")  # cites Payment Plan Rules; Payment Extension Rules are retrieved too
    probes = _probes(generate_for_story(story, load_template(), retrieved).cases)
    assert "$20.00" in probes and "$3,000.01" in probes
    assert not {"$50.00", "$5,000.01", "21 calendar days"} & set(probes), probes


def test_a_limit_stated_in_a_criterion_is_governed_by_it_over_a_rule_that_repeats_it():
    story = Story(key="LIB-4", summary="Borrow books", criteria=[
        AcceptanceCriterion(id="LIB-4/AC-1", story_key="LIB-4", text="A member borrows a book and the loan is listed on the member's account."),
        AcceptanceCriterion(id="LIB-4/AC-2", story_key="LIB-4", text="A member can renew a loan for at most 3 weeks."),
    ])
    rules = [_rule("A member's loan can be renewed for up to 21 days by the member on the account page.")]
    gov = govern_limits(story, rules)
    assert [lim.phrase for item in gov["LIB-4/AC-2"] for lim in item.limits] == ["at most 3 weeks"]
    assert not [lim for item in gov["LIB-4/AC-1"] for lim in item.limits]


def test_limits_of_a_rule_page_go_to_the_criteria_that_refer_to_them_in_another_domain():
    story = Story(key="LIB-7", summary="Borrowing rules at the lending desk", linked_pages=["9"], criteria=[
        AcceptanceCriterion(id="LIB-7/AC-1", story_key="LIB-7",
                            text="A librarian lends a book for the standard loan period and the due date is printed on the receipt."),
        AcceptanceCriterion(id="LIB-7/AC-2", story_key="LIB-7",
                            text="A member who already holds the maximum number of loans cannot borrow another book; "
                                 "the desk shows 'Loan limit reached'."),
        AcceptanceCriterion(id="LIB-7/AC-3", story_key="LIB-7",
                            text="A member whose unpaid fines are above the fine cap is blocked from borrowing until they pay."),
    ])
    retrieved = [
        _rule("The standard loan period for a book is up to 3 weeks.\n"
              "A member may hold at most 8 loans at a time.\n"
              "Unpaid fines over £15.00 block borrowing until paid.", page="9"),
        _rule("Room bookings last at most 4 hours. Members may book no more than 2 rooms per week.", page="10"),
    ]
    probes = _probes(generate_for_story(story, load_template(), retrieved).cases)
    assert probes["3 weeks"] == ["LIB-7/AC-1"] and probes["4 weeks"] == ["LIB-7/AC-1"]
    assert probes["9 loans at a time"] == ["LIB-7/AC-2"] and probes["8 loans at a time"] == ["LIB-7/AC-2"]
    assert probes["£15.01"] == ["LIB-7/AC-3"] and probes["£15.00"] == ["LIB-7/AC-3"]
    assert not any("room" in v or "hours" in v for v in probes), probes  # page 10 is not cited
    titles = [c.title for c in generate_for_story(story, load_template(), retrieved).cases if c.kind == "boundary"]
    assert any("a 9th loan at a time" in t for t in titles), titles


def _governed(story: Story, rules: list[dict]) -> dict[str, list[str]]:
    return {cid: [lim.phrase for item in items for lim in item.limits] for cid, items in govern_limits(story, rules).items()}


def test_a_count_that_triggers_the_outcome_is_a_limit_of_the_criterion_that_counts_it():
    story = Story(key="SEC-1", summary="Lock sign-in", criteria=[
        AcceptanceCriterion(id="SEC-1/AC-1", story_key="SEC-1", text="The sign-in page shows the member's account name."),
        AcceptanceCriterion(id="SEC-1/AC-2", story_key="SEC-1",
                            text="After the maximum number of failed sign-in attempts the account is locked."),
        AcceptanceCriterion(id="SEC-1/AC-3", story_key="SEC-1", text="An administrator can unlock the account."),
    ])
    rules = [_rule("After 5 failed sign-in attempts in a row the account is locked for 15 minutes. "
                   "A reminder is sent after 15 business days.")]
    gov = _governed(story, rules)
    assert gov["SEC-1/AC-2"] == ["After 5 failed sign-in attempts in a row"], gov
    assert not gov["SEC-1/AC-1"] and not gov["SEC-1/AC-3"]  # neither names the attempts counted
    probes = _probes(generate_for_story(story, load_template(), rules).cases)
    assert probes["5 failed sign-in attempts in a row"] == ["SEC-1/AC-2"]
    assert probes["4 failed sign-in attempts in a row"] == ["SEC-1/AC-2"]


def test_a_rule_that_defines_a_limit_outranks_one_that_uses_it_in_passing():
    story = Story(key="LN-1", summary="Set up a loan", criteria=[
        AcceptanceCriterion(id="LN-1/AC-1", story_key="LN-1", text="The officer cannot select a term longer than the maximum term."),
        AcceptanceCriterion(id="LN-1/AC-2", story_key="LN-1",
                            text="When the balance cannot be repaid within the term the officer refers the loan to a specialist."),
    ])
    rules = [_rule("Maximum term: up to 36 months", section="limits"),
             _rule("If the balance cannot be repaid within 36 months at the offered amount, the officer refers the loan "
                   "to a specialist.", section="calculation")]
    gov = _governed(story, rules)
    assert gov["LN-1/AC-1"] == ["up to 36 months"] and gov["LN-1/AC-2"] == [], gov


def test_a_count_given_in_words_picks_its_criterion_and_the_subject_of_a_rule_picks_its_own():
    story = Story(key="ID-3", summary="Verify a caller", criteria=[
        AcceptanceCriterion(id="ID-3/AC-1", story_key="ID-3", text="A caller who answers two identifiers is verified."),
        AcceptanceCriterion(id="ID-3/AC-2", story_key="ID-3",
                            text="A caller who cannot answer the identifiers is told to call back with the identifiers."),
        AcceptanceCriterion(id="ID-3/AC-3", story_key="ID-3", text="The customer receives a letter confirming the final read."),
        AcceptanceCriterion(id="ID-3/AC-4", story_key="ID-3", text="The final bill is sent to the new address."),
    ])
    rules = [_rule("The caller must correctly answer 2 of the 3 identifiers."),
             _rule("The final bill is issued within 10 business days of receiving the final read.", section="bills")]
    gov = _governed(story, rules)
    assert gov["ID-3/AC-1"] == ["must correctly answer 2 of the 3 identifiers"], gov
    assert gov["ID-3/AC-4"] == ["within 10 business days"] and gov["ID-3/AC-3"] == [], gov


def test_the_sample_project_limits_are_attributed_to_their_labelled_criteria():
    from agent.evaluation.attribution import attribute, labels_beside, load_limit_labels

    labels = load_limit_labels(labels_beside(SAMPLE_PATH))
    attributed = labelled = 0
    for key in ("ER-3", "ER-10", "ER-12", "ER-15", "ER-17"):
        story, retrieved = _sample(key)
        result = attribute(generate_for_story(story, load_template(), retrieved).cases, labels[key])
        attributed, labelled = attributed + result.attributed, labelled + result.labelled
        assert not result.misattributed, (key, result.misattributed)
    assert (attributed, labelled) == (10, 11)  # ER-12's "within 50 business days": its rule says "It must be returned"


def test_after_a_time_or_a_clock_time_is_no_count_limit():
    from agent.generation.boundaries import find_limits

    assert find_limits("A reminder is sent after 15 business days to the customer.") == []
    assert find_limits("Requests after 3:00 pm are booked for the next business day.") == []
    assert [(str(lim.value), lim.noun) for lim in find_limits("After 3 failed attempts in a row the card is blocked.")] \
        == [("3", "failed attempts")]

"""Groundedness reads each part of a case once per review pass (agent/review/groundedness.py):
the values it finds are those of the whole case text, and a part shared by many cases gives
the same values for each."""

from __future__ import annotations

from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.epic import load_epic
from agent.intake.sources import open_workspace
from agent.models import Step, UATCase
from agent.review.groundedness import _claim_parts, case_values, check_grounding, extract_values


def _sample_cases() -> list[UATCase]:
    bundle = load_epic(open_workspace("sample", "ER-1", None), "ER-1")
    template = load_template()
    return [c for s in bundle.stories for c in generate_for_story(s, template).cases]


def test_a_case_states_the_values_of_its_whole_text_memo_or_not():
    cases = _sample_cases()
    memo: dict = {}
    assert len(cases) > 20
    for case in cases:
        whole = extract_values("\n".join(_claim_parts(case)))
        assert case_values(case, memo) == whole == case_values(case)
    assert len(memo) < sum(len(_claim_parts(c)) for c in cases)  # parts repeat across cases


def test_a_shared_part_gives_each_case_its_own_findings():
    from agent.models import AcceptanceCriterion, Story

    story = Story(key="ER-2", summary="Refunds", description="Refunds up to $150.00 within 14 days.",
                  criteria=[AcceptanceCriterion(id="ER-2/AC1", story_key="ER-2", text="A refund of up to $150.00 is accepted")])
    shared = Step(action="Request a refund of $150.00", expected="The refund is accepted within 14 days")
    odd = Step(action="Request a refund of $900.00", expected="The refund is refused with ERR_LIMIT")
    cases = [UATCase(id=f"ER-2-{n}", story_key="ER-2", title=f"Refund {n}", objective="Refunds", persona="customer",
                     steps=[shared, *extra])
             for n, extra in enumerate([[], [odd], []])]
    memo: dict = {}
    findings = check_grounding(story, cases, [], memo)
    assert {f.case_id for f in findings} == {"ER-2-1"}
    assert sorted(f.message.split("'")[1] for f in findings) == ["$900.00", "ERR_LIMIT"]
    assert check_grounding(story, cases, [], memo) == findings  # the memo filled, the same answer

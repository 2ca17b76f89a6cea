"""A limit is probed once per story whatever unit spelling each criterion uses."""

from __future__ import annotations

from agent.generation.boundaries import find_limits, limit_key
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, Story


def test_calendar_days_and_days_are_one_limit_business_days_another():
    a, b, c = (find_limits(t)[0] for t in ("at most 35 calendar days", "at most 35 days", "at most 35 business days"))
    assert limit_key(a) == limit_key(b) != limit_key(c)


def test_the_same_limit_in_two_spellings_is_probed_once():
    story = Story(key="S-1", summary="Payment extension", criteria=[
        AcceptanceCriterion(id="S-1/AC-1", story_key="S-1", text="The Agent can grant an extension of at most 35 calendar days."),
        AcceptanceCriterion(id="S-1/AC-2", story_key="S-1", text="An extension of at most 35 days is recorded on the account."),
    ])
    cases = generate_for_story(story, load_template(), None).cases
    probes = [c for c in cases if c.kind == "boundary"]
    assert len({c.title for c in probes}) == len(probes) and len(probes) == 2, [c.title for c in probes]
    assert all(set(c.criterion_ids) == {"S-1/AC-1", "S-1/AC-2"} for c in probes)

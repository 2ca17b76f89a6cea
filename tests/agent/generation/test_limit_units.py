"""A limit is probed once per story whatever unit spelling each criterion uses, under one
criterion, and a count keeps its noun."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.generation.boundaries import find_limits, limit_key
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.models import AcceptanceCriterion, Story


def test_calendar_days_and_days_are_one_limit_business_days_another():
    a, b, c = (find_limits(t)[0] for t in ("at most 35 calendar days", "at most 35 days", "at most 35 business days"))
    assert limit_key(a) == limit_key(b) != limit_key(c)


@pytest.mark.parametrize("one,other,same", [
    ("up to 12 months", "no more than 1 year", True),
    ("within 2 weeks", "within 14 days", True),
    ("at most 2 hours", "at most 120 minutes", True),
    ("up to 1 year", "up to 365 days", False),       # a year is not a fixed number of days
    ("within 1 month", "within 30 days", False),
    ("within 10 business days", "within 2 weeks", False),
    ("at most $20.00 per fortnight", "at most $10.00 weekly", False),
])
def test_equivalent_units_are_one_limit_only_where_the_conversion_is_fixed(one, other, same):
    assert (limit_key(find_limits(one)[0]) == limit_key(find_limits(other)[0])) is same


def test_the_same_limit_in_two_spellings_is_probed_once_under_the_first_criterion_stating_it():
    story = Story(key="S-1", summary="Payment extension", criteria=[
        AcceptanceCriterion(id="S-1/AC-1", story_key="S-1", text="The Agent can grant an extension of at most 35 calendar days."),
        AcceptanceCriterion(id="S-1/AC-2", story_key="S-1", text="An extension of at most 35 days is recorded on the account."),
    ])
    cases = generate_for_story(story, load_template(), None).cases
    probes = [c for c in cases if c.kind == "boundary"]
    assert len({c.title for c in probes}) == len(probes) and len(probes) == 2, [c.title for c in probes]
    assert all(c.criterion_ids == ["S-1/AC-1"] for c in probes)


@pytest.mark.parametrize("text,inside,outside", [
    ("The account may receive at most 2 payment extensions in any rolling 12 months.",
     "2 payment extensions in any rolling 12 months", "a 3rd payment extension in any rolling 12 months"),
    ("A basket holds no more than 20 items per order.", "20 items per order", "a 21st item per order"),
    ("Maximum authorised persons per account: up to 2", "2 authorised persons per account",
     "a 3rd authorised person per account"),
    # a count per unit of time is a rate: a quantity, never an ordinal
    ("The number of retries must not exceed 4 per hour.", "4 retries per hour", "5 retries per hour"),
    ("GET /search allows at most 120 requests per minute per API key", "120 requests per minute",
     "121 requests per minute"),
    # durations, sizes and shares are quantities with units: 300 ms / 301 ms, never "a 301st m"
    ("The endpoint responds within 300 ms for 95% of requests", "300 ms", "301 ms"),
    ("Requests time out after no more than 30 seconds", "30 seconds", "31 seconds"),
    ("The upload is at most 5 MB", "5 MB", "6 MB"),
    ("A webhook payload is no larger than 256 KB.", "256 KB", "257 KB"),
    ("The image must be at most 640 px wide", "640 px", "641 px"),
    ("An import file holds no more than 10,000 contacts", "10,000 contacts", "10,001 contacts"),
    # a bare value of a named parameter is said with its name
    ("`limit` must be at most 50", "limit 50", "limit 51"),
    ("The caller must answer at least 2 of the 3 identifiers.", "2 of the 3 identifiers", "1 of the 3 identifiers"),
    ("A team has at least 3 players on the pitch.", "3 players", "2 players"),
])
def test_a_count_keeps_its_noun_and_window(text, inside, outside):
    [lim] = find_limits(text)
    (v_in, _), (v_out, _) = lim.probes()
    assert lim.probe_text(v_in, True) == inside
    assert lim.probe_text(v_out, False) == outside
    assert lim.phrase.split()[-1] in inside.split()[-1] or lim.scope  # the phrase names what is counted


def test_a_count_window_is_not_a_limit_of_its_own():
    assert [lim.phrase for lim in find_limits("The customer has asked for a third payment extension within 12 months.")] == []
    assert find_limits("The refund is paid within 12 months.")[0].value == Decimal(12)


def test_amounts_and_measures_need_no_noun():
    lims = find_limits("The balance must be at least $50.00 and the term up to 52 weeks, a discount below 15%.")
    assert [lim.probe_text(v, i) for lim in lims for v, i in lim.probes()] == [
        "$50.00", "$49.99", "52 weeks", "53 weeks", "14%", "15%"]


def test_a_range_of_a_named_parameter_probes_the_parameter_with_each_edge():
    lims = find_limits("The pageSize parameter must be between 1 and 100")
    probes = [lim.probe_text(v, inside) for lim in lims for v, inside in lim.probes()]
    assert probes == ["pageSize 1", "pageSize 0", "pageSize 100", "pageSize 101"]

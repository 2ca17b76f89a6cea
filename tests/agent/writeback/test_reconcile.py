"""The target-neutral reconciliation (agent/writeback/reconcile.py): which record holds which case,
and what happens to each, on plain data; plus a bounded property test of its guarantees."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.writeback.reconcile import (
    SIMILARITY_THRESHOLD,
    Desired,
    Record,
    reconcile,
    similarity,
)

STORY = "ER-5"


def case(cid: str, criterion: str, *, group: str = STORY, kind: str = "positive", body: str | None = None) -> Desired:
    content = body if body is not None else f"Verify that {criterion}\nsteps for {criterion}"
    return Desired(cid, group, kind, fingerprint=f"fp:{group}:{kind}:{criterion}:{content}", criteria=(criterion,),
                   content=content, content_hash=f"h:{content}")


def written(ref: str, d: Desired, **over) -> Record:
    """The record casewright wrote for `d`, untouched since."""
    base = dict(ref=ref, group=d.group, kind=d.kind, fingerprint=d.fingerprint, criteria=d.criteria, content=d.content,
                current_hash=d.content_hash, hash_at_write=d.content_hash)
    base.update(over)
    return Record(**base)


def by_ref(result) -> dict[str, object]:
    return {d.ref: d for d in result.decisions if d.ref}


A = "The Refer to Hardship quick action must be available on every Active residential account."
B = "The customer should receive an SMS saying a Hardship Specialist will call within 2 business days."
C = "A small business account cannot be referred; the quick action shows the residential-only message."
NEW = "The Agent must see a banner saying the account has an open complaint."


def test_reordered_and_renumbered_cases_are_unchanged():
    old = [case("C-1", A), case("C-2", B), case("C-3", C)]
    records = [written(f"ER-{40 + i}", d) for i, d in enumerate(old)]
    new = [case("C-1", C), case("C-2", A), case("C-3", B)]         # same content, other positions
    result = reconcile(new, records)
    assert [(d.case_id, d.action, d.ref) for d in result.decisions] == [
        ("C-1", "unchanged", "ER-42"), ("C-2", "unchanged", "ER-40"), ("C-3", "unchanged", "ER-41")]


def test_a_reworded_criterion_updates_its_record_in_place_and_an_insert_creates():
    old = [case("C-1", A), case("C-2", B)]
    records = [written("ER-40", old[0]), written("ER-41", old[1])]
    reworded = B.replace("2 business days", "3 business days").replace("should", "must")
    new = [case("C-1", NEW), case("C-2", A), case("C-3", reworded)]
    result = reconcile(new, records)
    got = {d.case_id: (d.action, d.ref) for d in result.decisions}
    assert got == {"C-1": ("create", None), "C-2": ("unchanged", "ER-40"), "C-3": ("update", "ER-41")}
    assert result.decisions[2].score >= SIMILARITY_THRESHOLD and "reworded" in result.decisions[2].reason


def test_a_deleted_criterion_retires_its_record_saying_which_criterion_went():
    old = [case("C-1", A), case("C-2", B)]
    result = reconcile([case("C-1", A)], [written("ER-40", old[0]), written("ER-41", old[1])])
    retire = by_ref(result)["ER-41"]
    assert retire.action == "retire" and retire.case_id is None and retire.gone == (B,) and retire.group == STORY
    assert result.counts() == {"create": 0, "update": 0, "unchanged": 1, "retire": 1, "conflict": 0}


def test_an_unrelated_new_criterion_does_not_take_over_a_deleted_ones_record():
    result = reconcile([case("C-1", NEW)], [written("ER-41", case("C-2", B))])
    assert [(d.action, d.ref) for d in result.decisions] == [("create", None), ("retire", "ER-41")]


def test_a_split_criterion_updates_the_closer_half_and_creates_the_other():
    whole = ('Collections activity on the account must be paused as soon as the referral is saved; the Account '
             'field Collections Stage shows "Paused - Hardship Referral".')
    halves = ["Collections activity on the account must be paused as soon as the referral is saved.",
              'The Account field Collections Stage shows "Paused - Hardship Referral".']
    assert similarity(whole, halves[0]) > similarity(whole, halves[1]) >= SIMILARITY_THRESHOLD
    result = reconcile([case("C-1", halves[1]), case("C-2", halves[0])], [written("ER-40", case("C-1", whole))])
    got = {d.case_id: (d.action, d.ref) for d in result.decisions}
    assert got == {"C-1": ("create", None), "C-2": ("update", "ER-40")}


def test_a_record_a_person_edited_is_a_conflict_matched_or_not_and_never_retired():
    a, b = case("C-1", A), case("C-2", B)
    records = [written("ER-40", a, current_hash="h:edited by a person"),
               written("ER-41", b, current_hash="h:also edited")]
    result = reconcile([case("C-1", A)], records)
    assert [(d.case_id, d.action, d.ref) for d in result.decisions] == [("C-1", "conflict", "ER-40"),
                                                                       (None, "conflict", "ER-41")]


def test_a_retired_record_is_revived_when_its_case_comes_back_and_otherwise_left_as_it_is():
    a, b = case("C-1", A), case("C-2", B)
    records = [written("ER-40", a, retired=True), written("ER-41", b, retired=True)]
    result = reconcile([case("C-9", A)], records)
    assert [(d.action, d.ref, d.revive) for d in result.decisions] == [("update", "ER-40", True)]
    assert result.retired == ["ER-41"]


def test_a_live_record_wins_over_a_retired_twin_and_a_duplicate_is_retired_as_such():
    a = case("C-1", A)
    result = reconcile([a], [written("ER-40", a, retired=True), written("ER-41", a), written("ER-42", a)])
    got = by_ref(result)
    assert got["ER-41"].action == "unchanged" and got["ER-42"].action == "retire"
    assert got["ER-42"].duplicate_of == "ER-41" and result.retired == ["ER-40"]


def test_an_interrupted_create_is_matched_by_what_it_holds_and_only_by_that():
    a, b = case("C-1", A), case("C-2", B)
    no_prop = dict(fingerprint=None, criteria=None, hash_at_write=None, kind=None)
    held = written("ER-40", a, **no_prop)                         # holds exactly case C-1
    stale = written("ER-41", b, **no_prop, content=b.content + " (older)", current_hash="h:older")
    result = reconcile([a, case("C-2", B, body=b.content + " (newer)")], [held, stale])
    got = {d.case_id: (d.action, d.ref, d.repairs) for d in result.decisions}
    assert got["C-1"] == ("unchanged", "ER-40", ["property"])
    assert got["C-2"] == ("create", None, [])                     # not matched by similarity: authorship unknown
    assert by_ref(result)["ER-41"].action == "conflict"           # nor retired


def test_matches_never_cross_a_story_or_a_kind():
    a = case("C-1", A)
    records = [written("ER-40", a, group="ER-6"), written("ER-41", a, kind="negative", fingerprint="other")]
    result = reconcile([a], records)
    assert result.decisions[0].action == "create"
    assert {d.ref: d.action for d in result.decisions[1:]} == {"ER-40": "retire", "ER-41": "retire"}


def test_a_blocked_record_is_a_conflict_with_its_reason():
    a = case("C-1", A)
    result = reconcile([a], [written("ER-40", a, blocked="exists as Sub-task")])
    assert (result.decisions[0].action, result.decisions[0].reason) == ("conflict", "exists as Sub-task")


# -- properties ------------------------------------------------------------------------------------

WORDS = ["agent", "account", "referral", "saved", "paused", "sms", "case", "status", "new", "open", "the", "a", "is"]
text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)
desired_st = st.lists(st.tuples(text, st.sampled_from(["ER-5", "ER-6"]), st.sampled_from(["positive", "negative"])),
                      max_size=6)
record_st = st.lists(st.tuples(text, st.sampled_from(["ER-5", "ER-6", None]), st.sampled_from(["positive", None]),
                               st.booleans(), st.booleans(), st.booleans(), st.booleans()), max_size=6)


@settings(max_examples=150, deadline=None, database=None)
@given(desired_st, record_st)
def test_every_case_once_every_record_at_most_once_and_nothing_edited_is_written(want, have):
    desired = [case(f"C-{i}", t, group=g, kind=k) for i, (t, g, k) in enumerate(want)]
    records = []
    for j, (t, g, k, edited, retired, known, blocked) in enumerate(have):
        d = case(f"R-{j}", t, group=g or "ER-5", kind=k or "positive")
        records.append(written(f"ER-{100 + j}", d, group=g, kind=k, retired=retired,
                               current_hash="h:edited" if edited and known else d.content_hash,
                               hash_at_write=d.content_hash if known else None, blocked="no" if blocked else ""))
    result = reconcile(desired, records)
    assert reconcile(desired, records) == result                               # deterministic
    assert Counter(d.case_id for d in result.decisions if d.case_id) == Counter(c.case_id for c in desired)
    refs = [d.ref for d in result.decisions if d.ref] + result.retired
    assert sorted(refs) == sorted(r.ref for r in records)                      # each record exactly once
    cases = {c.case_id: c for c in desired}
    for d in result.decisions:
        rec = next((r for r in records if r.ref == d.ref), None)
        if d.action == "create":
            assert rec is None
            continue
        assert rec is not None
        if rec.blocked or (rec.hash_at_write is not None and rec.current_hash != rec.hash_at_write):
            assert d.action == "conflict"                                      # never written
        if d.action == "retire":
            assert not rec.retired and rec.hash_at_write is not None
        if d.case_id:
            c = cases[d.case_id]
            assert rec.group in (None, c.group) and rec.kind in (None, c.kind)
            if d.score is not None:
                assert d.score >= SIMILARITY_THRESHOLD and rec.hash_at_write is not None

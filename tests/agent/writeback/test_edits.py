"""Write-back while people keep editing a story: insert at the top, reword, delete, reorder, split
one criterion in two and bring a deleted one back, with a rerun after each, against the emulator
with the real `jira` client. After every step each generated case is held by exactly one current
casewright issue with its current text, no current issue names a criterion that is gone (or one
that moved), the issues of gone criteria are retired (kept, linked, labelled, commented), and the
issues a person edited are untouched."""

from __future__ import annotations

import copy

import pytest

from agent.writeback.identity import marker
from agent.writeback.jira import WriteBack
from connectors.errors import CasewrightError
from support.sandbox import case_set_from_jira, writer_on
from support.writeback import (
    casewright_issues,
    check_current_issues,
    is_retired,
    linked_story,
    prop_of,
    summary_comments,
)

EPIC, STORY, FIELD = "ER-1", "ER-5", "customfield_10100"
BANNER = "The Agent must see a banner saying the account has an open complaint."
SMS = "The customer should receive an SMS saying a Hardship Specialist will call within 2 business days."
SMS_REWORDED = "The customer must receive an SMS and an email saying a Hardship Specialist will call within 3 business days."
PROMPT = "The console should show the Agent a prompt to offer a referral when the account meets an automatic referral trigger."
SECOND = "A second referral cannot be created while a Hardship Referral case is open on the account."
PAUSED = ('Collections activity on the account must be paused as soon as the referral is saved; the Account field '
          'Collections Stage shows "Paused - Hardship Referral".')
PAUSED_SPLIT = ["Collections activity on the account must be paused as soon as the referral is saved.",
                'The Account field Collections Stage shows "Paused - Hardship Referral" once the referral is saved.']


def lines(sandbox) -> list[str]:
    return [ln for ln in sandbox.state.issues[STORY]["fields"][FIELD].split("\n") if ln.strip()]


def test_a_sequence_of_story_edits_keeps_every_case_current_and_retires_the_gone_ones(sandbox, tmp_path):
    retire_status = "Obsolete" if sandbox.mode == "datacenter" else None   # Data Center: label + status
    if retire_status:
        sandbox.state.workflow.add_status(retire_status, "done")

    def write(cs, run):
        return WriteBack(writer_on(sandbox, sandbox.creds), mode="issues", run_id=run,
                         retire_status=retire_status).run(cs)

    cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="s0")
    first = write(cs, "s0")
    assert first.plan.counts()["create"] == len(cs.cases)
    # a person rewrites two issues: one of another story, one whose criterion will be deleted
    human = {first.keys[next(c.id for c in cs.cases if c.story_key == "ER-3")]: "h3. Objective\nRewritten by the QA lead.",
             first.keys[next(c.id for c in cs.cases if c.story_key == STORY and "second referral" in c.title)]:
                 "h3. Objective\nKept by hand: we test this in the regression pack."}
    writer = writer_on(sandbox, sandbox.creds)
    for key, text in human.items():
        writer.update_fields(key, {"description": text})
    edited = {k: copy.deepcopy(sandbox.state.issues[k]["fields"]) for k in human}
    ever: set[str] = {i["key"] for i in casewright_issues(sandbox)}

    steps = [
        ("insert at the top", lambda ls: [BANNER] + ls),
        ("reword", lambda ls: [SMS_REWORDED if ln == SMS else ln for ln in ls]),
        ("delete", lambda ls: [ln for ln in ls if ln not in (PROMPT, SECOND)]),
        ("reorder", lambda ls: list(reversed(ls))),
        ("split one in two", lambda ls: [x for ln in ls for x in (PAUSED_SPLIT if ln == PAUSED else [ln])]),
        ("restore a deleted one", lambda ls: ls + [PROMPT]),
    ]
    actions = {}
    for n, (name, edit) in enumerate(steps, 1):
        new = edit(lines(sandbox))
        assert new != lines(sandbox), name
        writer.update_fields(STORY, {FIELD: "\n".join(new)})
        cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run=f"s{n}")
        assert [c.text for c in next(s for s in cs.stories if s.key == STORY).criteria] == new, name
        result = write(cs, f"s{n}")
        plan = result.plan
        actions[name] = plan.counts()
        conflicts = {i.case_id for i in plan.items if i.action == "conflict" and i.case_id}
        assert {i.target for i in plan.items if i.action == "conflict"} <= set(human), (name, plan.items)
        check_current_issues(sandbox, cs, skip=set(human), conflicts=conflicts)
        # nothing a person edited changed, nothing was ever deleted
        for key, fields in edited.items():
            assert sandbox.state.issues[key]["fields"] == fields, (name, key)
        assert not [w for w in sandbox.writes() if w.method == "DELETE"]
        now = {i["key"] for i in casewright_issues(sandbox)}
        assert ever <= now, name
        ever = now
        # retired issues: kept, still linked, labelled (and moved), with a comment saying which criterion went
        for issue in casewright_issues(sandbox):
            if is_retired(sandbox, issue) and issue["key"] not in human:
                assert "casewright-obsolete" in issue["fields"]["labels"]
                assert linked_story(sandbox, issue["key"]) == [("Tests", prop_of(sandbox, issue)["story_key"])]
                notes = [c["body"] for c in sandbox.state.comments.get(issue["id"], [])
                         if marker("retired", issue["key"]) in c["body"]]
                assert notes and "No longer in ER-5" in notes[-1], notes
                if retire_status:
                    assert issue["fields"]["status"]["name"] == retire_status
        assert len(summary_comments(sandbox, EPIC)) == 1
        # and a rerun changes nothing
        sandbox.reset_log()
        again = write(cs, f"s{n}-again")
        assert sandbox.writes() == [] and again.plan.counts()["retire"] == 0, (name, again.plan.counts())

    assert actions["insert at the top"]["create"] == 1 and actions["insert at the top"]["retire"] == 0
    assert actions["reword"]["create"] == 0 and actions["reword"]["update"] >= 1 and actions["reword"]["retire"] == 0
    # the prompt's case is retired; the hand-kept case of the other deleted criterion stays a conflict
    assert actions["delete"]["retire"] == 1 and actions["delete"]["create"] == 0 and actions["delete"]["conflict"] == 2
    assert actions["reorder"]["create"] == 0 and actions["reorder"]["retire"] == 0
    # the closer half updates the old case, the other half is created
    assert actions["split one in two"]["create"] == 1 and actions["split one in two"]["retire"] == 0
    assert actions["restore a deleted one"]["create"] == 0 and actions["restore a deleted one"]["retire"] == 0
    revived = [i for i in casewright_issues(sandbox) if any(marker("revived", i["key"]) in c["body"]
                                                            for c in sandbox.state.comments.get(i["id"], []))]
    assert len(revived) == 1 and not is_retired(sandbox, revived[0])
    assert "referral trigger" in revived[0]["fields"]["description"]
    if retire_status:
        assert revived[0]["fields"]["status"]["name"] == "To Do"


def test_a_retire_status_the_workflow_cannot_reach_fails_before_any_write_naming_the_setting(sandbox, tmp_path):
    cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="a")
    WriteBack(writer_on(sandbox, sandbox.creds), mode="issues", run_id="a").run(cs)
    writer = writer_on(sandbox, sandbox.creds)
    writer.update_fields(STORY, {FIELD: "\n".join(ln for ln in lines(sandbox) if ln != PROMPT)})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="b")
    sandbox.reset_log()
    late = WriteBack(writer, mode="issues", run_id="b", retire_status="Archived")
    for dry_run in (True, False):
        with pytest.raises(CasewrightError, match=r"CASEWRIGHT_RETIRE_STATUS 'Archived' is not a status .*To Do") as err:
            late.run(edited, dry_run=dry_run)
        assert "\n" not in str(err.value)
    assert sandbox.writes() == []
    # the label alone needs no workflow: the case is retired, with a custom label
    result = WriteBack(writer, mode="issues", run_id="c", retire_label="uat-retired").run(edited)
    [retired] = [i for i in result.plan.items if i.action == "retire"]
    issue = sandbox.state.issues[retired.target]
    assert "uat-retired" in issue["fields"]["labels"] and issue["fields"]["status"]["name"] == "To Do"
    assert "uat-retired" in summary_comments(sandbox, EPIC)[0]["body"]


def test_comment_mode_rewrites_the_comment_of_a_story_whose_cases_are_all_gone(sandbox, tmp_path):
    cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="a")
    WriteBack(writer_on(sandbox, sandbox.creds), mode="comment", run_id="a").run(cs)
    story = sandbox.state.issues[STORY]
    ours = [c for c in sandbox.state.comments[story["id"]] if marker("story", STORY) in c["body"]]
    assert len(ours) == 1 and "UAT-5-01" in ours[0]["body"]
    writer_on(sandbox, sandbox.creds).update_fields(STORY, {FIELD: ""})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="b")
    assert not edited.cases_for(STORY)
    result = WriteBack(writer_on(sandbox, sandbox.creds), mode="comment", run_id="b").run(edited)
    assert [cp.action for cp in result.plan.comments if cp.issue_key == STORY] == ["update"]
    ours = [c for c in sandbox.state.comments[story["id"]] if marker("story", STORY) in c["body"]]
    assert len(ours) == 1 and "0 UAT test cases" in ours[0]["body"] and "UAT-5-01" not in ours[0]["body"]


def retire_stopped_after_the_label(sandbox, tmp_path):
    """Write, delete ER-5's last criterion (nothing renumbers), and retire its case with Jira failing
    from the second write on (the comment): the issue is labelled, nothing else."""
    cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="a")
    writer = writer_on(sandbox, sandbox.creds)
    WriteBack(writer, mode="issues", run_id="a").run(cs)
    last = lines(sandbox)[-1]
    writer.update_fields(STORY, {FIELD: "\n".join(lines(sandbox)[:-1])})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="b")
    sandbox.faults.fail_write_at, sandbox.faults.fail_writes_after = 2, True
    with pytest.raises(CasewrightError, match="stopped after 0 of 1 cases to write.*Run it again"):
        WriteBack(writer, mode="issues", run_id="b").run(edited)
    sandbox.faults.clear()
    [key] = [i["key"] for i in casewright_issues(sandbox) if "casewright-obsolete" in i["fields"]["labels"]]
    issue = sandbox.state.issues[key]
    assert not prop_of(sandbox, issue).get("retired") and not sandbox.state.comments.get(issue["id"])
    return writer, edited, last, key, issue


def test_a_retire_that_stopped_half_way_is_finished_by_the_rerun_with_one_comment(sandbox, tmp_path):
    writer, edited, last, key, issue = retire_stopped_after_the_label(sandbox, tmp_path)
    # the rerun's first write is the comment: Jira applies it and the answer is lost; it is not sent twice
    sandbox.faults.fail_write_at, sandbox.faults.apply_then_fail = 1, True
    result = WriteBack(writer, mode="issues", run_id="c").run(edited)
    sandbox.faults.clear()
    assert [(i.action, i.target) for i in result.plan.items if i.action == "retire"] == [("retire", key)]
    notes = [c for c in sandbox.state.comments[issue["id"]] if marker("retired", key) in c["body"]]
    assert len(notes) == 1 and " ".join(last.split())[:40] in " ".join(notes[0]["body"].split())
    assert prop_of(sandbox, issue)["retired"]["run_id"] == "c"
    sandbox.reset_log()
    WriteBack(writer, mode="issues", run_id="d").run(edited)
    assert sandbox.writes() == []
    # the criterion comes back: the issue is revived in place, not duplicated
    writer.update_fields(STORY, {FIELD: "\n".join(lines(sandbox) + [last])})
    back = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="e")
    revived = WriteBack(writer, mode="issues", run_id="e").run(back)
    assert revived.plan.counts()["create"] == 0
    assert [i.target for i in revived.plan.items if i.reason == "its criterion is back: restoring it"] == [key]
    assert "casewright-obsolete" not in issue["fields"]["labels"] and not prop_of(sandbox, issue).get("retired")
    assert marker("revived", key) in sandbox.state.comments[issue["id"]][-1]["body"]


def test_a_case_whose_retire_stopped_half_way_and_whose_criterion_came_back_is_restored(sandbox, tmp_path):
    writer, _, last, key, issue = retire_stopped_after_the_label(sandbox, tmp_path)
    writer.update_fields(STORY, {FIELD: "\n".join(lines(sandbox) + [last])})
    back = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="c")
    result = WriteBack(writer, mode="issues", run_id="c").run(back)
    assert result.plan.counts()["create"] == 0 and result.plan.counts()["retire"] == 0
    assert [(i.action, i.target) for i in result.plan.items if i.target == key] == [("update", key)]
    assert "casewright-obsolete" not in issue["fields"]["labels"] and not prop_of(sandbox, issue).get("retired")
    sandbox.reset_log()
    WriteBack(writer, mode="issues", run_id="d").run(back)
    assert sandbox.writes() == []


def test_a_run_for_one_story_retires_nothing_of_the_others(sandbox, tmp_path):
    """`--stories` with the story an end-to-end journey belongs to: the other stories' cases, and the
    journey that spans them, are outside the run, not gone. (ER-8: its Move In case flows from ER-9
    into ER-11 and ER-12, a journey; ER-1's stories feed none of each other.)"""
    cs = case_set_from_jira(sandbox, sandbox.creds, "ER-8", tmp_path, run="a")
    writer = writer_on(sandbox, sandbox.creds)
    WriteBack(writer, mode="issues", run_id="a").run(cs)
    home = next(c.story_key for c in cs.cases if c.kind == "end_to_end")
    some = case_set_from_jira(sandbox, sandbox.creds, "ER-8", tmp_path, run="b", story_keys=[home])
    assert {c.story_key for c in some.cases} == {home} and not any(c.kind == "end_to_end" for c in some.cases)
    sandbox.reset_log()
    result = WriteBack(writer, mode="issues", run_id="b").run(some)
    counts = result.plan.counts()
    assert counts["retire"] == 0 and counts["conflict"] == 0 and counts["unchanged"] == len(some.cases), counts
    assert [w.path for w in sandbox.writes() if not w.path.startswith("/rest/api/2/issue/ER-8/")] == []

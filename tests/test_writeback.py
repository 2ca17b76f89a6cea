"""Writing cases back to Jira (the emulator) with the real `jira` client: every mode, reruns,
edits, conflicts, throttling, outages and a crash half-way."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from agent.writeback import CASE_PROPERTY, WriteBack, case_label, fingerprint
from connectors.errors import CasewrightError
from connectors.jira_writer import writer_for
from sandbox_fixtures import FAST_RETRY, case_set_from_jira, writer_on

EPIC = "ER-1"


@pytest.fixture
def cases(sandbox, tmp_path):
    return case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path)


def wb(sandbox, mode: str, run: str = "run-1") -> WriteBack:
    return WriteBack(writer_on(sandbox, sandbox.creds), mode=mode, run_id=run, report_path="out/ER-1.md")


def case_issues(sandbox) -> dict[str, list[dict]]:
    """Case label -> the issues in Jira carrying it."""
    out: dict[str, list[dict]] = {}
    for issue in sandbox.state.issues.values():
        for label in issue["fields"].get("labels") or []:
            if label.startswith("casewright-case-"):
                out.setdefault(label, []).append(issue)
    return out


def summary_comments(sandbox) -> list[dict]:
    epic = sandbox.state.issues[EPIC]
    return [c for c in sandbox.state.comments.get(epic["id"], []) if "[casewright:summary ER-1]" in c["body"]]


def assert_each_case_once(sandbox, cs, mode: str = "issues") -> None:
    found = case_issues(sandbox)
    assert set(found) == {case_label(c.id) for c in cs.cases}
    assert all(len(v) == 1 for v in found.values()), {k: [i["key"] for i in v] for k, v in found.items() if len(v) > 1}
    for case in cs.cases:
        issue = found[case_label(case.id)][0]
        prop = sandbox.state.properties[issue["id"]][CASE_PROPERTY]
        assert prop["case_id"] == case.id and prop["fingerprint"] == fingerprint(case)
        if mode == "issues":
            links = [lk for lk in sandbox.state.links.values() if lk["inward"] == issue["key"]]
            assert [(lk["type"]["name"], lk["outward"]) for lk in links] == [("Tests", case.story_key)]
        else:
            assert issue["fields"]["parent"]["key"] == case.story_key
    assert len(summary_comments(sandbox)) == 1


def test_issues_mode_writes_each_case_once_and_a_rerun_changes_nothing(sandbox, cases):
    first = wb(sandbox, "issues").run(cases)
    assert first.plan.counts()["create"] == len(cases.cases) > 10
    assert_each_case_once(sandbox, cases)
    some = sandbox.state.issues[first.keys[cases.cases[0].id]]
    assert some["fields"]["issuetype"]["name"] == "Test" and "h3. Steps" in some["fields"]["description"]
    assert "out/ER-1.md" in summary_comments(sandbox)[0]["body"]
    sandbox.reset_log()
    again = wb(sandbox, "issues", run="run-2").run(cases)
    assert again.plan.counts() == {"create": 0, "update": 0, "unchanged": len(cases.cases), "conflict": 0}
    assert again.plan.summary.action == "unchanged"
    assert sandbox.writes() == [] and again.writes == 0
    assert_each_case_once(sandbox, cases)


def test_subtasks_mode(sandbox, cases):
    wb(sandbox, "subtasks").run(cases)
    assert_each_case_once(sandbox, cases, mode="subtasks")
    types = Counter(i["fields"]["issuetype"]["name"] for v in case_issues(sandbox).values() for i in v)
    assert types == Counter({"Sub-task": len(cases.cases)})
    sandbox.reset_log()
    assert wb(sandbox, "subtasks").run(cases).plan.counts()["unchanged"] == len(cases.cases)
    assert sandbox.writes() == []


def test_comment_mode_one_comment_per_story_updated_in_place(sandbox, cases):
    result = wb(sandbox, "comment").run(cases)
    stories = {c.story_key for c in cases.cases}
    assert [cp.action for cp in result.plan.comments] == ["create"] * len(stories)
    for key in stories:
        issue = sandbox.state.issues[key]
        ours = [c for c in sandbox.state.comments.get(issue["id"], []) if f"[casewright:story {key}]" in c["body"]]
        assert len(ours) == 1
        assert all(c.id in ours[0]["body"] for c in cases.cases_for(key))
    assert case_issues(sandbox) == {}
    sandbox.reset_log()
    again = wb(sandbox, "comment").run(cases)
    assert {cp.action for cp in again.plan.comments} == {"unchanged"} and sandbox.writes() == []


def test_none_and_dry_run_write_nothing(sandbox, cases):
    assert wb(sandbox, "none").run(cases).plan.items == []
    plan = wb(sandbox, "issues").run(cases, dry_run=True)
    assert plan.dry_run and plan.plan.counts()["create"] == len(cases.cases)
    assert plan.as_dict()["counts"]["create"] == len(cases.cases)
    assert sandbox.writes() == []
    with pytest.raises(CasewrightError, match="write-back mode"):
        wb(sandbox, "everything")


def test_rerun_after_editing_one_story_updates_only_its_cases(sandbox, cases, tmp_path):
    first = wb(sandbox, "issues").run(cases)
    story = sandbox.state.issues["ER-2"]
    ac = story["fields"]["customfield_10100"]
    assert "12 months" in ac
    j = writer_on(sandbox, sandbox.creds)
    j.update_fields("ER-2", {"customfield_10100": ac.replace("12 months", "6 months")})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="edited")
    # casewright's own Test issues are not read back as the team's approved cases
    assert sum(len(s.approved_cases) for s in edited.stories) == sum(len(s.approved_cases) for s in cases.stories)
    sandbox.reset_log()
    result = wb(sandbox, "issues", run="run-2").run(edited)
    counts = result.plan.counts()
    updated = [i for i in result.plan.items if i.action == "update"]
    assert updated and counts["create"] == 0 and counts["conflict"] == 0
    by_id = {c.id: c for c in edited.cases}
    for item in updated:
        case = by_id[item.case_id]
        assert case.story_key == "ER-2" or any(cid.startswith("ER-2/") for cid in case.criterion_ids)
        assert item.target == first.keys[item.case_id]
    untouched = [c for c in edited.cases if c.story_key != "ER-2" and not any(x.startswith("ER-2/") for x in c.criterion_ids)]
    assert all(i.action == "unchanged" for i in result.plan.items if by_id[i.case_id] in untouched)
    assert any("6 months" in sandbox.state.issues[i.target]["fields"]["description"] for i in updated)
    written = {w.path.split("/")[5] for w in sandbox.writes() if w.path.startswith("/rest/api/2/issue/ER-")}
    assert written <= {i.target for i in updated} | {EPIC}
    assert_each_case_once(sandbox, edited)


def test_a_case_a_person_edited_is_a_conflict_and_left_alone(sandbox, cases):
    first = wb(sandbox, "issues").run(cases)
    key = first.keys[cases.cases[1].id]
    human = "h3. Objective\nRewritten by the QA lead after the walkthrough."
    writer_on(sandbox, sandbox.creds).update_fields(key, {"description": human})
    result = wb(sandbox, "issues", run="run-2").run(cases)
    conflicts = [i for i in result.plan.items if i.action == "conflict"]
    assert [(i.case_id, i.target) for i in conflicts] == [(cases.cases[1].id, key)]
    assert sandbox.state.issues[key]["fields"]["description"] == human
    assert result.plan.counts()["unchanged"] == len(cases.cases) - 1
    assert key in summary_comments(sandbox)[0]["body"] and result.plan.summary.action == "update"
    sandbox.reset_log()
    third = wb(sandbox, "issues", run="run-3").run(cases)
    assert third.plan.summary.action == "unchanged" and sandbox.writes() == []


def test_throttling_and_outages_during_write_back_recover(sandbox, cases):
    sandbox.faults.throttle_next, sandbox.faults.retry_after, sandbox.faults.only_path = 1, 1, "/issueLink"
    t0 = time.perf_counter()
    wb(sandbox, "issues").run(cases)
    assert time.perf_counter() - t0 >= 1.0  # waited the Retry-After
    sandbox.faults.clear()
    assert 429 in {r.status for r in sandbox.requests}
    sandbox.state.requests.clear()
    sandbox.faults.unavailable_next = 3
    assert wb(sandbox, "comment").run(cases).plan.comments
    assert [r.status for r in sandbox.requests[:3]] == [503, 503, 503]
    assert_each_case_once(sandbox, cases)


def test_failure_at_the_fifth_write_then_a_rerun_leaves_every_case_exactly_once(sandbox, cases):
    sandbox.faults.fail_write_at, sandbox.faults.fail_writes_after = 5, True
    with pytest.raises(CasewrightError, match="Run it again"):
        wb(sandbox, "issues").run(cases)
    assert len(case_issues(sandbox)) == 2  # the second case was created, its property write failed
    sandbox.faults.clear()
    result = wb(sandbox, "issues", run="run-2").run(cases)
    counts = result.plan.counts()
    assert counts["create"] == len(cases.cases) - 2 and counts["unchanged"] + counts["update"] == 2
    assert_each_case_once(sandbox, cases)


def test_a_create_whose_response_was_lost_is_not_duplicated(sandbox, cases):
    # write 4 is the second case's create: Jira applies it, then the answer is lost (500)
    sandbox.faults.fail_write_at, sandbox.faults.apply_then_fail = 4, True
    wb(sandbox, "issues").run(cases)
    assert_each_case_once(sandbox, cases)


def test_wrong_token_for_writes_names_the_setting(sandbox):
    bad = {"pat": "nope"} if sandbox.creds.pat else {"email": sandbox.creds.email, "api_token": "nope"}
    with pytest.raises(CasewrightError, match=r"Jira rejected the credentials \(401\).*JIRA_EMAIL \+ JIRA_API_TOKEN or JIRA_PAT"):
        writer_for(sandbox.url, retry=FAST_RETRY, **bad)

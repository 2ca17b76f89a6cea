"""Writing cases back to Jira (the emulator) with the real `jira` client: every mode, reruns,
edits, conflicts, throttling, outages and a crash half-way."""

from __future__ import annotations

import copy
import time
from collections import Counter

import pytest

from agent.writeback.identity import CASE_PROPERTY, case_label, criterion_text, fingerprint
from agent.writeback.jira import WriteBack
from connectors.errors import CasewrightError
from connectors.jira_writer import writer_for
from support.sandbox import FAST_RETRY, case_set_from_jira, start_sandbox, writer_on
from support.writeback import case_issues
from support.writeback import summary_comments as epic_summary_comments

EPIC = "ER-1"


@pytest.fixture
def cases(sandbox, tmp_path):
    return case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path)


def wb(sandbox, mode: str, run: str = "run-1") -> WriteBack:
    return WriteBack(writer_on(sandbox, sandbox.creds), mode=mode, run_id=run)


def summary_comments(sandbox) -> list[dict]:
    return epic_summary_comments(sandbox, EPIC)


def assert_each_case_once(sandbox, cs, mode: str = "issues") -> None:
    found = case_issues(sandbox)
    assert set(found) == {case_label(c.id) for c in cs.cases}
    assert all(len(v) == 1 for v in found.values()), {k: [i["key"] for i in v] for k, v in found.items() if len(v) > 1}
    for case in cs.cases:
        issue = found[case_label(case.id)][0]
        prop = sandbox.state.properties[issue["id"]][CASE_PROPERTY]
        texts = {c.id: c.text for s in cs.stories for c in s.criteria}
        assert prop["case_id"] == case.id and prop["fingerprint"] == fingerprint(case, texts)
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
    assert "Report:" not in summary_comments(sandbox)[0]["body"]
    sandbox.reset_log()
    again = wb(sandbox, "issues", run="run-2").run(cases)
    assert again.plan.counts() == {"create": 0, "update": 0, "unchanged": len(cases.cases), "retire": 0, "conflict": 0}
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
    # a case whose content is the same but whose criteria's text changed (the journey quotes no criterion
    # text) only gets its stored identity refreshed
    repaired = {i.target for i in result.plan.items if i.action == "unchanged" and i.repairs}
    assert all(i.repairs == ["property"] for i in result.plan.items if i.target in repaired)
    writes = [w.path for w in sandbox.writes() if w.path.startswith("/rest/api/2/issue/ER-")]
    assert {p.split("/")[5] for p in writes} <= {i.target for i in updated} | repaired | {EPIC}
    assert all(p.endswith("/properties/casewright.case") for p in writes if p.split("/")[5] in repaired)
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


def test_case_labels_in_casewrights_namespace_are_not_written(sandbox, cases):
    """A case carrying another case's `casewright-case-*` label (as a model might answer) must not
    make write-back mistake one issue for another: only casewright adds `casewright*` labels."""
    first, second = cases.cases[0], cases.cases[1]
    forged = first.model_copy(update={"labels": [*first.labels, case_label(second.id), "CaseWright-Extra", "smoke"]})
    cs = cases.model_copy(update={"cases": [forged, *cases.cases[1:]]})
    result = wb(sandbox, "issues").run(cs)
    assert_each_case_once(sandbox, cs)
    labels = sandbox.state.issues[result.keys[first.id]]["fields"]["labels"]
    assert "smoke" in labels and case_label(first.id) in labels
    assert case_label(second.id) not in labels and "CaseWright-Extra" not in labels


def test_inserting_a_criterion_at_the_top_of_a_story_creates_one_case_and_renumbers_the_rest(sandbox, cases, tmp_path):
    """Case and criterion ids are positional (ER-UAT-5-01, ER-5/AC-1, ...): a new first criterion renumbers
    every case of the story. Existing issues are matched by content, so the new case is the one create,
    and every other issue of the story keeps its key, summary and id label and has only its criterion
    ids rewritten to the new numbering (else it would name the criterion now at its old position)."""
    first = wb(sandbox, "issues").run(cases)
    story = sandbox.state.issues["ER-5"]
    ac = story["fields"]["customfield_10100"]
    new_line = "The Agent must see a banner saying the account has an open complaint."
    writer_on(sandbox, sandbox.creds).update_fields("ER-5", {"customfield_10100": new_line + "\n" + ac})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="inserted")
    before = {c.id: c.title for c in cases.cases if c.story_key == "ER-5"}
    after = {c.id: c.title for c in edited.cases if c.story_key == "ER-5"}
    assert before != after and len(after) == len(before) + 1  # the ids did shift
    issues_before = {k: copy.deepcopy(v) for k, v in sandbox.state.issues.items()}
    sandbox.reset_log()
    result = wb(sandbox, "issues", run="run-2").run(edited)
    counts = result.plan.counts()
    assert counts["create"] == 1 and counts["conflict"] == 0 and counts["retire"] == 0, counts
    story_items = [i for i in result.plan.items if i.story_key == "ER-5" and i.action != "create"]
    assert {i.reason for i in story_items} == {"its criterion ids were renumbered"}, story_items
    created = [i for i in result.plan.items if i.action == "create"][0]
    assert "banner" in sandbox.state.issues[created.target]["fields"]["description"]
    # each existing issue is now the key of the case with its content, one to one
    assert set(result.keys.values()) == set(first.keys.values()) | {created.target}
    assert len(set(result.keys.values())) == len(edited.cases)
    texts = {c.id: c.text for s in edited.stories for c in s.criteria}
    old_titles = {first.keys[cid]: t for cid, t in before.items()}
    for case in edited.cases:
        issue = sandbox.state.issues[result.keys[case.id]]
        if issue["key"] in old_titles:
            assert old_titles[issue["key"]] == case.title
            assert issue["fields"]["summary"] == issues_before[issue["key"]]["fields"]["summary"]
            assert issue["fields"]["labels"] == issues_before[issue["key"]]["fields"]["labels"]
        assert f"* Criteria: {', '.join(case.criterion_ids)}" in issue["fields"]["description"]
        prop = sandbox.state.properties[issue["id"]][CASE_PROPERTY]
        assert prop["criteria"] == sorted(criterion_text(texts[c]) for c in case.criterion_ids)
    # every issue's labels still name one case, and a rerun changes nothing
    labels = Counter(lb for i in sandbox.state.issues.values() for lb in i["fields"].get("labels") or []
                     if lb.startswith("casewright-case-"))
    assert labels and max(labels.values()) == 1
    sandbox.reset_log()
    again = wb(sandbox, "issues", run="run-3").run(edited)
    assert again.plan.counts()["unchanged"] == len(edited.cases) and sandbox.writes() == []


@pytest.fixture
def dc_sandbox():
    server, creds = start_sandbox("datacenter")
    server.creds = creds  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def test_switching_from_subtasks_to_issues_reports_the_subtasks_instead_of_adopting_them(dc_sandbox, tmp_path):
    sandbox = dc_sandbox
    cases = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path)
    wb(sandbox, "subtasks").run(cases)
    sandbox.reset_log()
    result = wb(sandbox, "issues", run="run-2").run(cases)
    counts = result.plan.counts()
    assert counts == {"create": 0, "update": 0, "unchanged": 0, "retire": 0, "conflict": len(cases.cases)}, counts
    assert all("exists as Sub-task; delete it or rerun with --write-back subtasks" in i.reason
               for i in result.plan.items)
    assert [w for w in sandbox.writes() if "/rest/api/2/issue" == w.path.rstrip("/")] == []  # no duplicate created
    types = Counter(i["fields"]["issuetype"]["name"] for v in case_issues(sandbox).values() for i in v)
    assert types == Counter({"Sub-task": len(cases.cases)})


def test_an_unknown_test_issue_type_fails_before_any_write_naming_the_setting(sandbox, cases):
    bad = WriteBack(writer_on(sandbox, sandbox.creds), mode="issues", test_issue_type="UAT Case", run_id="r")
    with pytest.raises(CasewrightError, match=r"CASEWRIGHT_TEST_ISSUE_TYPE.*valid types there: .*Test") as err:
        bad.run(cases)
    assert "Run it again" not in str(err.value) and "\n" not in str(err.value)
    assert sandbox.writes() == []
    with pytest.raises(CasewrightError, match="CASEWRIGHT_TEST_ISSUE_TYPE"):
        bad.run(cases, dry_run=True)


def test_stopped_after_counts_the_cases_actually_written(sandbox, cases):
    wb(sandbox, "issues").run(cases)
    sandbox.faults.fail_write_at, sandbox.faults.fail_writes_after = 1, True
    changed = cases.model_copy(update={"cases": [c.model_copy(update={"title": c.title + " (v2)"}) if i < 3 else c
                                                 for i, c in enumerate(cases.cases)]})
    with pytest.raises(CasewrightError, match=r"stopped after 0 of 3 cases to write"):
        wb(sandbox, "issues", run="run-2").run(changed)

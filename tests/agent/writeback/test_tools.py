"""Write-back to Xray Cloud, Xray Server (the datacenter sandbox), Zephyr Scale and TestRail, through
the real clients (gql/httpx, `jira`, httpx, `testrail-api`) against the sandbox's emulators, on cases
the real graph generated from the epic read live: first write, an unchanged rerun writes nothing,
a reworded criterion updates its cases in place, a deleted one retires them (kept), a case a
person edited in the tool is a conflict left alone, 429/503 are ridden out, a run that dies at the
5th write is finished by a rerun with every case exactly once, and wrong credentials are one line
naming the setting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import httpx
import pytest
import testrail_api

from agent.generation.template import load_template
from agent.writeback.identity import fingerprint
from agent.writeback.tools import ToolWriteBack
from connectors.case_targets import CaseTargets
from connectors.errors import CasewrightError
from support.sandbox import API_TOKEN, EMAIL, FAST_RETRY, case_set_from_jira, start_sandbox, writer_on
from support.writeback import summary_comments

EPIC, STORY, FIELD = "ER-1", "ER-5", "customfield_10100"
SMS = "The customer should receive an SMS saying a Hardship Specialist will call within 2 business days."
SMS_REWORDED = "The customer should receive a text message saying a Hardship Specialist will call within 2 business days."
SECOND = "A second referral cannot be created while a Hardship Referral case is open on the account."
TOOLS = ["xray-cloud", "xray-server", "zephyr", "testrail"]


@dataclass
class Tool:
    name: str
    sb: object
    creds: object
    targets: CaseTargets

    @property
    def mode(self) -> str:
        return self.name.split("-")[0]

    def write_back(self, run: str, targets: CaseTargets | None = None, creds=None) -> ToolWriteBack:
        return ToolWriteBack.for_mode(self.mode, targets or self.targets, writer_on(self.sb, creds or self.creds),
                                      fields=load_template().tool_fields(self.mode), run_id=run)

    @property
    def faults(self):
        return {"xray-cloud": self.sb.xray.faults, "xray-server": self.sb.faults, "zephyr": self.sb.zephyr.faults,
                "testrail": self.sb.testrail.faults}[self.name]

    def logs(self) -> list[list]:
        return [self.sb.requests, self.sb.xray.requests, self.sb.zephyr.requests, self.sb.testrail.requests]

    def tool_requests(self) -> list:
        return self.sb.requests if self.name == "xray-server" else {
            "xray-cloud": self.sb.xray.requests, "zephyr": self.sb.zephyr.requests,
            "testrail": self.sb.testrail.requests}[self.name]

    def writes(self) -> list:
        return [r for log in self.logs() for r in log if r.is_write]

    def reset(self) -> None:
        for log in self.logs():
            log.clear()

    def stored(self, cs) -> list:
        """What the tool holds for the epic, read by a fresh client (no local state)."""
        return self.write_back("read").target.records(cs)

    def edit_by_hand(self, ref: str) -> None:
        """A person renames the case in the tool, through the tool's own API."""
        if self.mode == "xray":
            writer_on(self.sb, self.creds).update_fields(ref, {"summary": "Renamed by the QA lead"})
        elif self.mode == "zephyr":
            http = httpx.Client(base_url=self.sb.zephyr_url, headers={"Authorization": f"Bearer {API_TOKEN}"})
            case = http.get(f"/testcases/{ref}").json()
            http.put(f"/testcases/{ref}", json=dict(case, name="Renamed by the QA lead")).raise_for_status()
        else:
            api = testrail_api.TestRailAPI(self.sb.testrail_url, EMAIL, API_TOKEN, warn_ignore=True)
            api.cases.update_case(int(ref), title="Renamed by the QA lead")


@pytest.fixture(params=TOOLS)
def tool(request):
    sb, creds = start_sandbox("datacenter" if request.param == "xray-server" else "cloud")
    targets = CaseTargets(xray_url=sb.xray_url, xray_client_id=EMAIL, xray_client_secret=API_TOKEN,
                          zephyr_url=sb.zephyr_url, zephyr_api_token=API_TOKEN, testrail_url=sb.testrail_url,
                          testrail_email=EMAIL, testrail_api_key=API_TOKEN, testrail_project_id=1, retry=FAST_RETRY)
    try:
        yield Tool(request.param, sb, creds, targets)
    finally:
        sb.stop()


def held(tool: Tool, cs) -> Counter:
    """Fingerprint -> how many current (not retired) cases in the tool hold it."""
    return Counter((s.identity or {}).get("fingerprint") for s in tool.stored(cs) if not s.retired)


def fingerprints(cs) -> Counter:
    texts = {c.id: c.text for s in cs.stories for c in s.criteria}
    return Counter(fingerprint(c, texts) for c in cs.cases)


def edit_story(tool: Tool, change) -> None:
    lines = [ln for ln in tool.sb.state.issues[STORY]["fields"][FIELD].split("\n") if ln.strip()]
    new = change(lines)
    assert new != lines
    writer_on(tool.sb, tool.creds).update_fields(STORY, {FIELD: "\n".join(new)})


def test_first_write_then_an_unchanged_rerun_writes_nothing(tool, tmp_path):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path)
    first = tool.write_back("a").run(cs)
    assert first.plan.counts()["create"] == len(cs.cases) and first.writes > 0
    assert held(tool, cs) == fingerprints(cs)
    wb = tool.write_back("check")
    wb.plan(cs)
    stored = {s.id: s for s in wb.target.records(cs)}
    for case in cs.cases:
        managed, one = wb._managed[case.id], stored[first.keys[case.id]]
        assert one.content == wb.target.native(managed) and wb.target.linked(one, managed) and one.complete
    assert len(summary_comments(tool.sb, EPIC)) == 1
    tool.reset()
    again = tool.write_back("b").run(cs)
    assert again.plan.counts()["unchanged"] == len(cs.cases) and not any(i.repairs for i in again.plan.items)
    assert tool.writes() == [] and again.writes == 0
    assert again.keys == first.keys


def test_a_reworded_criterion_updates_in_place_and_a_deleted_one_is_retired(tool, tmp_path):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path, run="a")
    first = tool.write_back("a").run(cs)
    edit_story(tool, lambda ls: [SMS_REWORDED if ln == SMS else ln for ln in ls])
    reworded = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path, run="b")
    sms = next(c.id for s in reworded.stories for c in s.criteria if c.text == SMS_REWORDED)
    verifying = [c.id for c in reworded.cases if sms in c.criterion_ids]
    tool.reset()
    plan = tool.write_back("b").run(reworded, dry_run=True).plan   # the plan, nothing written
    assert tool.writes() == []
    assert plan.counts() == {"create": 0, "update": len(verifying), "unchanged": len(reworded.cases) - len(verifying),
                             "retire": 0, "conflict": 0}, plan.items
    done = tool.write_back("b").run(reworded)
    assert [i.case_id for i in done.plan.items if i.action == "update"] == verifying
    assert all(done.keys[c] == first.keys[c] for c in verifying)   # in place: the same test case
    assert held(tool, reworded) == fingerprints(reworded)

    edit_story(tool, lambda ls: [ln for ln in ls if ln != SECOND])
    deleted = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path, run="c")
    gone = next(c.id for s in reworded.stories for c in s.criteria if c.text == SECOND)
    gone_refs = {done.keys[c.id] for c in reworded.cases if gone in c.criterion_ids}
    result = tool.write_back("c").run(deleted)
    counts = result.plan.counts()
    assert counts["retire"] == len(gone_refs) >= 1 and counts["create"] == 0 and counts["conflict"] == 0
    assert {i.target for i in result.plan.items if i.action == "retire"} == gone_refs
    stored = {s.id: s for s in tool.stored(deleted)}
    assert all(stored[ref].retired for ref in gone_refs)           # kept, marked retired, never deleted
    [summary] = summary_comments(tool.sb, EPIC)
    assert "are retired (" + tool.write_back("x").target.retired_as + ")" in summary["body"]
    assert held(tool, deleted) == fingerprints(deleted)
    assert not [w for w in tool.writes() if w.method == "DELETE" and "/step" not in w.path]
    tool.reset()
    again = tool.write_back("d").run(deleted)
    assert tool.writes() == [] and sorted(again.plan.retired) == sorted(gone_refs)

    edit_story(tool, lambda ls: ls + [SECOND])   # the criterion comes back: its retired cases are restored
    restored = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path, run="e")
    back = tool.write_back("e").run(restored)
    assert back.plan.counts()["create"] == 0 and back.plan.counts()["retire"] == 0
    assert {i.target for i in back.plan.items if i.action == "update"} >= gone_refs
    stored = {s.id: s for s in tool.stored(restored)}
    assert not any(stored[ref].retired for ref in gone_refs) and held(tool, restored) == fingerprints(restored)


def test_a_case_a_person_edited_in_the_tool_is_a_conflict_left_alone(tool, tmp_path):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path)
    first = tool.write_back("a").run(cs)
    case = next(c for c in cs.cases if c.story_key == "ER-3")
    ref = first.keys[case.id]
    tool.edit_by_hand(ref)
    before = {s.id: s.content for s in tool.stored(cs)}[ref]
    tool.reset()
    result = tool.write_back("b").run(cs)
    [conflict] = [i for i in result.plan.items if i.action == "conflict"]
    assert conflict.case_id == case.id and conflict.target == ref and "edited" in conflict.reason
    assert result.plan.counts()["unchanged"] == len(cs.cases) - 1
    assert {s.id: s.content for s in tool.stored(cs)}[ref] == before   # untouched
    # the only writes: the epic's summary comment (it now names the conflict), nothing in the tool
    assert tool.writes() and all(w.path.startswith(f"/rest/api/2/issue/{EPIC}/") for w in tool.writes())
    [summary] = summary_comments(tool.sb, EPIC)
    label = {"xray": "Xray", "zephyr": "Zephyr Scale", "testrail": "TestRail"}[tool.mode]
    assert ref in summary["body"] and f"edited in {label} and left alone" in summary["body"]


def test_429_and_503_are_ridden_out(tool, tmp_path):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path)
    tool.faults.throttle_next, tool.faults.retry_after, tool.faults.unavailable_next = 2, 1, 1
    result = tool.write_back("a").run(cs)
    statuses = [r.status for r in tool.tool_requests()]
    assert statuses.count(429) == 2 and statuses.count(503) == 1
    assert result.plan.counts()["create"] == len(cs.cases) and held(tool, cs) == fingerprints(cs)


@pytest.mark.parametrize("lost", [False, True], ids=["refused-then-gone", "applied-then-lost"])
def test_a_failed_5th_write_then_a_rerun_leaves_every_case_exactly_once(tool, tmp_path, lost):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path)
    if lost:   # the 5th write and every one after it are applied, their answers lost: nothing is sent twice
        tool.faults.fail_write_at, tool.faults.apply_then_fail, tool.faults.fail_writes_after = 5, True, True
    else:      # the 5th write is refused, and the tool is gone from then on
        tool.faults.fail_write_at, tool.faults.fail_writes_after = 5, True
    try:
        tool.write_back("a").run(cs)
        assert lost, "a refused write must stop the run"
    except CasewrightError as err:
        assert "stopped after" in str(err) and "Run it again" in str(err) and "\n" not in str(err)
    tool.faults.clear()
    partial = tool.stored(cs)
    assert 0 < len(partial) <= len(cs.cases)
    rerun = tool.write_back("b").run(cs)
    assert rerun.plan.counts()["create"] == len(cs.cases) - len(partial) and rerun.plan.counts()["conflict"] == 0
    assert held(tool, cs) == fingerprints(cs) and len(tool.stored(cs)) == len(cs.cases)
    tool.reset()
    assert tool.write_back("c").run(cs).writes == 0 and tool.writes() == []


def test_wrong_credentials_are_one_line_naming_the_setting(tool, tmp_path):
    cs = case_set_from_jira(tool.sb, tool.creds, EPIC, tmp_path)
    wrong = "not-the-secret"
    if tool.name == "xray-server":   # Xray Server is reached with the Jira credentials
        with pytest.raises(CasewrightError) as err:
            tool.write_back("a", creds=replace(tool.creds, pat=wrong))
        settings = "JIRA_PAT"
    else:
        targets = replace(tool.targets, xray_client_secret=wrong, zephyr_api_token=wrong, testrail_api_key=wrong)
        with pytest.raises(CasewrightError) as err:
            tool.write_back("a", targets=targets).run(cs)
        settings = {"xray": "XRAY_CLIENT_ID + XRAY_CLIENT_SECRET", "zephyr": "ZEPHYR_API_TOKEN",
                    "testrail": "TESTRAIL_EMAIL + TESTRAIL_API_KEY"}[tool.mode]
    message = str(err.value)
    assert "rejected the credentials (401)" in message and settings in message
    assert "\n" not in message and wrong not in message and API_TOKEN not in message
    assert tool.writes() == []

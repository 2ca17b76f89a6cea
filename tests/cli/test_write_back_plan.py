"""The write-back plan as `casewright generate --write-back ... [--dry-run]` prints it: a count per
action (create, update, unchanged, retire, conflict) and a row for every case or issue that is
not unchanged."""

from __future__ import annotations

from rich.console import Console

from agent.writeback.jira import WriteBack
from casewright.commands.jira import print_write_back
from support.sandbox import case_set_from_jira, writer_on

EPIC, STORY, FIELD = "ER-1", "ER-5", "customfield_10100"


def printed(result) -> str:
    out = Console(record=True, width=250, color_system=None)
    print_write_back({"write_back": result.as_dict()}, out)
    return out.export_text()


def test_a_dry_run_after_a_story_edit_shows_each_action(sandbox, tmp_path):
    cs = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="a")
    writer = writer_on(sandbox, sandbox.creds)
    first = WriteBack(writer, mode="issues", run_id="a").run(cs)
    lines = sandbox.state.issues[STORY]["fields"][FIELD].split("\n")
    gone = next(ln for ln in lines if "second referral" in ln)
    kept_by_hand = first.keys[next(c.id for c in cs.cases if c.story_key == "ER-3")]
    writer.update_fields(kept_by_hand, {"description": "h3. Objective\nRewritten by hand"})
    writer.update_fields(STORY, {FIELD: "\n".join(["The Agent must see a banner about an open complaint."] +
                                                  [ln for ln in lines if ln != gone])})
    edited = case_set_from_jira(sandbox, sandbox.creds, EPIC, tmp_path, run="b")
    sandbox.reset_log()
    plan = WriteBack(writer, mode="issues", run_id="b").run(edited, dry_run=True)
    assert sandbox.writes() == []
    text = printed(plan)
    counts = plan.plan.counts()
    assert counts["create"] == 1 and counts["retire"] == 1 and counts["conflict"] == 1 and counts["update"] > 0
    assert (f"Write-back issues: {counts['create']} create, {counts['update']} update, {counts['unchanged']} unchanged, "
            f"1 retire, 1 conflict") in " ".join(text.split())
    [retire] = [i for i in plan.plan.items if i.action == "retire"]
    row = next(ln for ln in text.splitlines() if retire.target in ln)
    assert "retire" in row and f"(was {retire.was})" in row and "no longer in the story" in row
    assert "conflict" in next(ln for ln in text.splitlines() if kept_by_hand in ln)
    assert "dry run, nothing written" in text

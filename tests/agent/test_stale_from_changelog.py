"""The old criterion text of a person's test from Jira's change history: a story edited in the
emulator after a human test was linked makes the test stale on casewright's first run (no memory),
with the old text read from the changelog through the real `jira` client; a test updated after the
edit is not stale. The emulator records and serves the histories in Jira's shapes."""

from __future__ import annotations

import json

import pytest

from agent.configuration import Configuration
from agent.context import Services
from agent.runner import generate_epic
from connectors.jira_access import JiraAccess
from support.sandbox import FAST_RETRY, start_sandbox

OLD = "This account already has 2 authorised persons"
NEW = "This account already has 3 authorised persons"


def _access(sandbox) -> JiraAccess:
    c = sandbox.creds
    return JiraAccess(url=sandbox.url, email=c.email, api_token=c.api_token, pat=c.pat, retry=FAST_RETRY)


def _edit_story(access: JiraAccess) -> None:
    """A person changes one criterion of ER-16 in Jira (through the real client)."""
    issue = access.source().client.issue("ER-16")
    assert OLD in issue.fields.description
    issue.update(fields={"description": issue.fields.description.replace(OLD, NEW)})


def _run(tmp_path, access: JiraAccess, name: str) -> dict:
    cfg = Configuration(source="jira", data_dir=str(tmp_path / name), out_dir=str(tmp_path / f"out-{name}"),
                        formats=["json"], story_keys=["ER-16"])
    generate_epic("ER-14", cfg, Services(jira=access))
    return json.loads((tmp_path / f"out-{name}" / "ER-14.json").read_text())


def test_the_emulator_records_and_serves_the_change(sandbox):
    access = _access(sandbox)
    _edit_story(access)
    client = access.source().client
    doc = client._get_json("issue/ER-16", params={"expand": "changelog", "fields": "summary"})
    [history] = doc["changelog"]["histories"]
    assert doc["changelog"]["total"] == 1 and history["created"] and history["author"]
    [item] = history["items"]
    assert item["field"] == "description" and item["fieldId"] == "description" and item["fieldtype"] == "jira"
    assert OLD in item["fromString"] and NEW in item["toString"]
    if sandbox.state.mode == "cloud":
        page = client._get_json("issue/ER-16/changelog", params={"startAt": 0, "maxResults": 10})
        assert page["values"] == [history] and page["isLast"] and page["total"] == 1


def test_an_edited_story_makes_the_human_test_stale_with_the_old_text_from_the_changelog(sandbox, tmp_path):
    access = _access(sandbox)
    before = _run(tmp_path, access, "before")
    assert not before["stale_tests"]
    _edit_story(access)
    cs = _run(tmp_path, access, "after")  # a fresh data dir: casewright has no memory of ER-37
    assert [(t["test_key"], t["criterion_id"], t["reason"]) for t in cs["stale_tests"]] == \
        [("ER-37", "ER-16/AC-4", "changed")]
    stale = cs["stale_tests"][0]
    assert OLD in stale["old_text"] and NEW in stale["new_text"] and not stale["own"]
    assert any(f["code"] == "stale-test" and OLD in f["message"] for f in cs["findings"])
    row = {r["criterion_id"]: r for r in cs["coverage"]}["ER-16/AC-4"]
    assert row["status"] == "stale" and row["new_cases"]


def test_a_test_updated_after_the_edit_is_not_stale(sandbox, tmp_path):
    access = _access(sandbox)
    _edit_story(access)
    test = access.source().client.issue("ER-37")
    test.update(fields={"summary": test.fields.summary + " (checked against the new limit)"})
    cs = _run(tmp_path, access, "updated")
    assert not cs["stale_tests"]


@pytest.mark.parametrize("cap", [1, 3])
def test_the_changelog_is_read_in_pages_when_expand_is_capped(cap):
    """Jira Cloud caps expand=changelog; the rest comes from the paged /changelog, oldest first."""
    server, creds = start_sandbox("cloud", page_size=2)
    try:
        server.state.changelog_expand_limit = cap
        access = JiraAccess(url=server.url, retry=FAST_RETRY, **creds.kwargs())
        client = access.source().client
        for n in range(5):
            client.issue("ER-16").update(fields={"summary": f"Add an authorised person (edit {n})"})
        histories = access.source().changelog("ER-16")
        assert [h["items"][0]["toString"] for h in histories] == \
            [f"Add an authorised person (edit {n})" for n in range(5)]
    finally:
        server.stop()

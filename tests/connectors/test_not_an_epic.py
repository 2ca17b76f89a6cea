"""A story key given where an epic is expected: the error says it is a story and names its epic,
from a workspace file and from live Jira (the emulator, Cloud and Data Center)."""

from __future__ import annotations

import pytest

from agent.intake.epic import UnknownEpicError, load_epic
from connectors.errors import CasewrightError
from connectors.workspace import load_workspace, parse_workspace
from support.sandbox import datacenter_doc, sample_doc, source_for, start_sandbox


def test_a_story_key_from_a_workspace_names_its_epic():
    ws = parse_workspace(sample_doc())
    with pytest.raises(UnknownEpicError) as err:
        load_epic(ws, "ER-9")
    assert str(err.value).startswith("ER-9 is a Story, not an epic; it belongs to epic ER-8")
    assert "--stories ER-9" in str(err.value)


def test_an_issue_in_no_epic_says_so():
    doc = sample_doc()
    story = next(i for i in doc["issues"] if i["key"] == "ER-9")
    story["fields"].pop("parent")
    link = next(f["id"] for f in doc["fields"] if f["name"] == "Epic Link")
    story["fields"].pop(link, None)
    with pytest.raises(UnknownEpicError, match="ER-9 is a Story, not an epic, and belongs to no epic"):
        load_epic(parse_workspace(doc), "ER-9")


def test_a_story_key_from_live_jira_names_its_epic(sandbox):
    with pytest.raises(CasewrightError) as err:
        source_for(sandbox, sandbox.creds).workspace_for_epic("ER-2")
    assert str(err.value).startswith("ER-2 is a Story, not an epic; it belongs to epic ER-1")
    assert not any("search" in r.path for r in sandbox.requests)  # stopped before reading children


def test_a_story_key_from_data_center_names_its_epic_through_epic_link(tmp_path):
    doc = datacenter_doc()
    server, creds = start_sandbox("datacenter", seed=doc)
    try:
        with pytest.raises(CasewrightError, match="ER-10 is a Story, not an epic; it belongs to epic ER-8"):
            source_for(server, creds).workspace_for_epic("ER-10")
        with pytest.raises(UnknownEpicError, match="it belongs to epic ER-8"):
            load_epic(parse_workspace(doc), "ER-10")
    finally:
        server.stop()


@pytest.mark.parametrize("doc", [
    {"cases": [], "epic": {"key": "ER-1"}},           # a casewright CaseSet output, not an input
    {"format": "casewright-caseset/1", "issues": []},  # another format
    {"name": "package", "version": "1.0"},
])
def test_valid_json_that_is_not_a_workspace_says_so(tmp_path, doc):
    import json

    path = tmp_path / "thing.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(CasewrightError) as err:
        load_workspace(path)
    assert "is valid JSON but not a casewright workspace" in str(err.value)
    assert "unknown epic" not in str(err.value)

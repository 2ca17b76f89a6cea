"""The one definition of a Jira issue key, and the Jira connector never putting anything else into
a REST path or JQL (the emulator records every request the real `jira` client makes)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.jira_keys import (
    ISSUE_KEY,
    KEY_PATTERN,
    InvalidKeyError,
    check_issue_key,
    is_issue_key,
    key_path,
    normalise_key,
    project_path,
)
from support.sandbox import source_for

HOSTILE = ["../../etc/passwd", "ER-1/../../serverInfo", "ER-1?fields=*all", "ER-1#", "ER-1%2F..", "ER-1 OR x = y",
           "ER-01", "ER-0", "E-1", "ER_1", "ÉR-1", "ıR-1", "ER-1\x00", "ER-\u0661", "", "   ", None, 7, ["ER-1"]]


@pytest.mark.parametrize("good, canonical", [("ER-1", "ER-1"), (" er-12 ", "ER-12"), ("A_B9-7", "A_B9-7"),
                                             ("ABCDEFGHIJ-1234567", "ABCDEFGHIJ-1234567")])
def test_keys_jira_accepts_are_taken_in_canonical_form(good, canonical):
    assert normalise_key(good) == check_issue_key(good) == canonical and is_issue_key(good)
    assert re.fullmatch(KEY_PATTERN, good)  # the OpenAPI pattern says the same


@pytest.mark.parametrize("bad", HOSTILE)
def test_anything_else_is_refused_with_one_line_naming_it(bad):
    assert normalise_key(bad) is None and not is_issue_key(bad)
    with pytest.raises(InvalidKeyError) as err:
        check_issue_key(bad, "epic key")
    message = str(err.value)
    assert message.startswith("an epic key is required") or message.startswith("epic key ")
    assert "\n" not in message and "\x00" not in message and len(message) < 200
    if isinstance(bad, str) and bad.strip():
        assert repr(bad)[:30] in message
        assert not re.fullmatch(KEY_PATTERN, bad)


def test_a_very_long_value_is_cut_in_the_message():
    with pytest.raises(InvalidKeyError) as err:
        check_issue_key("ER-" + "1" * 100_000)
    assert len(str(err.value)) < 200


def test_paths_get_encoded_segments_only():
    assert key_path("er-5") == "ER-5" and project_path(" er ") == "ER"
    for bad in ("../ER", "ER/1", "E"):
        with pytest.raises(InvalidKeyError):
            project_path(bad)


@pytest.mark.parametrize("bad", HOSTILE[:6])
def test_the_jira_source_sends_no_request_for_a_key_that_is_not_one(sandbox, bad):
    source = source_for(sandbox, sandbox.creds)
    sandbox.reset_log()
    for read in (source.workspace_for_epic, source.issue):
        with pytest.raises(InvalidKeyError):
            read(bad)
    assert sandbox.requests == []


def test_a_test_key_from_jira_that_is_not_a_key_never_reaches_jql(sandbox):
    """A linked issue whose key Jira (or a proxy) reports as JQL is left out of the search for tests."""
    story = sandbox.state.issues["ER-2"]
    story["fields"].setdefault("issuelinks", []).append({
        "id": "999", "type": {"name": "Tests", "inward": "is tested by", "outward": "tests"},
        "inwardIssue": {"key": "ER-3) OR (project = HR", "fields": {"issuetype": {"name": "Test"}}}})
    source = source_for(sandbox, sandbox.creds)
    sandbox.reset_log()
    ws = source.workspace_for_epic("er-1")
    assert ws.issue("ER-1") is not None
    sent = " ".join(str(r.query) + str(r.body) for r in sandbox.requests)
    assert "project = HR" not in sent
    assert all(".." not in r.path for r in sandbox.requests)


def test_the_jira_writer_sends_nothing_for_a_key_that_is_not_one(sandbox):
    from support.sandbox import writer_on

    writer = writer_on(sandbox, sandbox.creds)
    sandbox.reset_log()
    bad = "../../rest/api/2/serverInfo"
    for write in (lambda: writer.get_issue(bad), lambda: writer.update_fields(bad, {"summary": "x"}),
                  lambda: writer.add_labels(bad, ["x"]), lambda: writer.transitions(bad),
                  lambda: writer.transition(bad, "1"), lambda: writer.set_property(bad, "p", 1),
                  lambda: writer.get_property(bad, "p"), lambda: writer.comments(bad),
                  lambda: writer.add_comment(bad, "x"), lambda: writer.update_comment(bad, "1", "x"),
                  lambda: writer.project("../ER"), lambda: writer.update_comment("ER-1", "..", "x")):
        with pytest.raises(InvalidKeyError):
            write()
    assert sandbox.requests == [] and writer.writes == 0
    # keys in any case and numeric ids still work
    assert writer.get_issue("ER-1")["key"] == writer.get_issue(writer.get_issue("ER-1")["id"])["key"] == "ER-1"
    writer.set_property("er-1", "casewright.test", {"v": 1})
    assert writer.get_property("ER-1", "casewright.test") == {"v": 1}


KEY_EXAMPLES = 300


@settings(max_examples=KEY_EXAMPLES, deadline=None, database=None, derandomize=True)
@given(value=st.one_of(st.text(), st.from_regex(KEY_PATTERN, fullmatch=True),
                       st.builds(lambda a, b: a + "-" + b, st.text(max_size=12), st.text(max_size=6))))
def test_any_text_is_a_canonical_key_or_a_one_line_refusal(value):
    try:
        key = check_issue_key(value)
    except InvalidKeyError as err:
        assert "\n" not in str(err) and len(str(err)) < 200
        assert normalise_key(value) is None
        return
    assert ISSUE_KEY.fullmatch(key) and key == value.strip(" \t\r\n").upper() and key_path(value) == key
    assert re.fullmatch(KEY_PATTERN, value) and len(value) <= 255  # the OpenAPI documents say the same

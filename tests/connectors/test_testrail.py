"""TestRail through the real `testrail-api` client, over HTTP, against the sandbox's TestRail emulator."""

from __future__ import annotations

import pytest

from connectors.errors import CasewrightError
from connectors.testrail import TestRailCases
from support.tools import API_TOKEN, EMAIL, FAST_RETRY, case, no_sleep, start_sandbox, writes_of

SECTION = ["ER-1 Payment difficulty and hardship support", "ER-2 Payment extension"]


@pytest.fixture()
def sb():
    server, _ = start_sandbox("cloud")
    try:
        yield server
    finally:
        server.stop()


def client(sb, **kwargs) -> TestRailCases:
    c = TestRailCases(sb.testrail_url, kwargs.pop("email", EMAIL), kwargs.pop("api_key", API_TOKEN),
                      project_id=kwargs.pop("project_id", 1), retry=FAST_RETRY, **kwargs)
    c.sleep = no_sleep()
    return c


def test_create_read_back_update_retire_and_find_from_a_fresh_client(sb):
    tr = client(sb)
    one, two = case(1), case(2, steps=2)
    id1 = tr.create(one, SECTION)
    id2 = tr.create(two, SECTION)
    got = tr.read(id1)
    assert got.content == tr.native(one) and got.identity == one.identity and got.story_keys == ["ER-2"]
    raw = sb.testrail.cases[int(id1)]
    assert raw["template_id"] == 2 and raw["priority_id"] == 3 and raw["refs"] == "ER-2"
    assert [s["content"] for s in raw["custom_steps_separated"]] == [s.action for s in one.steps]
    assert [s["name"] for s in sb.testrail.sections.values()] == SECTION  # nested: epic, then story
    # a rerun on another machine: a new client with no local state finds both by their identity
    fresh = client(sb)
    assert [s.id for s in fresh.find(case_id="ER-2-TC-01")] == [id1]
    assert sorted(s.id for s in fresh.existing()) == sorted([id1, id2])
    reworded = case(1, steps=4, title="Agent offers an extension of up to 21 days")
    fresh.update(id1, reworded)
    again = fresh.read(id1)
    assert again.content == fresh.native(reworded) and len(again.content["custom_steps_separated"]) == 4
    assert sb.testrail.cases[int(id1)]["section_id"] == raw["section_id"]  # an update does not move it
    fresh.retire(id2)
    assert fresh.read(id2).retired and not fresh.read(id1).retired
    assert id2 in {s.id for s in client(sb).existing()}  # retired, never deleted


def test_required_custom_fields_are_discovered_and_reported_before_writing(sb):
    sb.testrail.add_case_field("uat_owner", "UAT owner", "String", templates=[2], required=True)
    tr = client(sb)
    assert [f.system_name for f in tr.missing_required(case())] == ["custom_uat_owner"]
    before = len(writes_of(sb.testrail.requests))
    with pytest.raises(CasewrightError, match=r"requires the case fields UAT owner \(custom_uat_owner\)"):
        tr.create(case(), SECTION)
    assert len(writes_of(sb.testrail.requests)) == before  # nothing written
    mapped = case(custom_fields={"custom_uat_owner": "qa.lead"})
    assert tr.missing_required(mapped) == []
    cid = tr.create(mapped, SECTION)
    assert sb.testrail.cases[int(cid)]["custom_uat_owner"] == "qa.lead"
    with pytest.raises(CasewrightError, match="no case fields custom_nope"):
        tr.create(case(custom_fields={"custom_nope": 1}), SECTION)


def test_a_project_without_the_identity_field_or_with_several_suites_is_a_clear_error(sb):
    sb.testrail.fields = [f for f in sb.testrail.fields if f["name"] != "casewright"]
    with pytest.raises(CasewrightError, match="no case field 'custom_casewright'.*TESTRAIL_IDENTITY_FIELD"):
        client(sb).create(case(), SECTION)
    sb.testrail.suites[2] = dict(sb.testrail.suites[1], id=2, name="Regression")
    with pytest.raises(CasewrightError, match=r"2 suites \(1 \(Master\), 2 \(Regression\)\).*TESTRAIL_SUITE_ID"):
        client(sb).suite_id()
    assert client(sb, suite_id=2).suite_id() == 2
    with pytest.raises(CasewrightError, match="TESTRAIL_PROJECT_ID"):
        TestRailCases(sb.testrail_url, EMAIL, API_TOKEN, project_id=None)


def test_unknown_priority_or_type_names_the_choices(sb):
    with pytest.raises(CasewrightError, match=r"no priority 'Urgent' \(there are: Low, Medium, High, Critical\)"):
        client(sb).create(case(priority="Urgent"), SECTION)
    cid = client(sb).create(case(case_type="Acceptance"), SECTION)
    assert sb.testrail.cases[int(cid)]["type_id"] == 1


def test_wrong_credentials_are_one_clear_error_naming_the_settings(sb):
    with pytest.raises(CasewrightError) as err:
        client(sb, api_key="wrong").existing()
    msg = str(err.value)
    assert "TestRail rejected the credentials (401)" in msg and "TESTRAIL_EMAIL + TESTRAIL_API_KEY" in msg
    assert "wrong" not in msg and API_TOKEN not in msg
    assert sb.testrail.requests[-1].status == 401


def test_429_with_retry_after_and_503_are_retried_within_bounds(sb):
    tr = client(sb)
    sb.testrail.faults.throttle_next, sb.testrail.faults.retry_after = 1, 3
    sb.testrail.faults.unavailable_next = 1
    cid = tr.create(case(), SECTION)
    assert tr.sleep.waits[0] == 2.0  # Retry-After 3, capped by the policy's max_wait_s (2.0)
    assert len(tr.sleep.waits) == 2 and tr.read(cid).identity == case().identity
    sb.testrail.faults.unavailable_next = 10
    with pytest.raises(CasewrightError, match=r"kept answering 503 .* \(4 attempts\)"):
        tr.read(cid)


@pytest.mark.parametrize("applied", [False, True], ids=["refused", "applied-then-lost"])
def test_a_failed_nth_write_is_retried_without_duplicating_the_case(sb, applied):
    tr = client(sb)
    tr.create(case(1), SECTION)  # writes 1-3: two sections, one case
    sb.testrail.faults.fail_write_at, sb.testrail.faults.apply_then_fail = 1, applied
    sb.testrail.faults.writes_seen = 0
    cid = tr.create(case(2), SECTION)
    titles = [c["title"] for c in sb.testrail.cases.values()]
    assert len(titles) == 2 and sb.testrail.cases[int(cid)]["title"] == case(2).title
    failed = [r for r in writes_of(sb.testrail.requests) if r.status == 500]
    assert len(failed) == 1

"""Zephyr Scale Cloud (REST v2) through httpx against the sandbox's Zephyr emulator."""

from __future__ import annotations

import pytest

from connectors.errors import CasewrightError
from connectors.zephyr import ZephyrScale
from support.tools import API_TOKEN, FAST_RETRY, case, no_sleep, start_sandbox, writes_of


@pytest.fixture()
def sb():
    server, _ = start_sandbox("cloud")
    try:
        yield server
    finally:
        server.stop()


def client(sb, token: str = API_TOKEN, **kwargs) -> ZephyrScale:
    z = ZephyrScale(sb.zephyr_url, token, project_key="ER", retry=FAST_RETRY, **kwargs)
    z.sleep = no_sleep()
    return z


def story_id(sb, key: str = "ER-2") -> str:
    return sb.state.issues[key]["id"]


def test_create_read_back_update_retire_and_find_from_a_fresh_client(sb):
    z = client(sb)
    one = case(1, story_id=story_id(sb))
    key = z.create(one, folder="casewright/ER-1")
    assert key == "ER-T1"
    got = z.read(key)
    assert got.content == z.native(one) and got.identity == one.identity and got.complete and not got.retired
    assert got.story_keys == [story_id(sb)]  # linked by the story's numeric Jira issue id
    raw = sb.zephyr.cases[key]
    folder = sb.zephyr.folders[raw["folder"]["id"]]
    assert folder["name"] == "ER-1" and sb.zephyr.folders[folder["parentId"]]["name"] == "casewright"
    assert raw["labels"] == ["casewright", "payments"]
    posts = [r for r in sb.zephyr.requests if r.path.endswith("/teststeps") and r.method == "POST"]
    assert [p.body["mode"] for p in posts] == ["OVERWRITE"]
    two = case(2, story_id=story_id(sb, "ER-3"), story_key="ER-3")
    key2 = z.create(two, folder="casewright/ER-1")
    assert len(sb.zephyr.folders) == 2  # the folders are found, not made again
    fresh = client(sb)
    assert [s.id for s in fresh.find(case_id="ER-3-TC-02")] == [key2]
    assert sorted(s.id for s in fresh.existing()) == [key, key2]
    changed = case(1, story_id=story_id(sb), steps=1, objective="Reworded objective")
    fresh.update(key, changed)
    assert fresh.read(key).content == fresh.native(changed)
    writes = len(writes_of(sb.zephyr.requests))
    fresh.update(key, changed)  # nothing to change: nothing written
    assert len(writes_of(sb.zephyr.requests)) == writes
    fresh.retire(key2)
    retired = fresh.read(key2)
    assert retired.retired and "casewright-retired" in retired.labels
    assert sb.zephyr.statuses[[s["id"] for s in sb.zephyr.statuses].index(sb.zephyr.cases[key2]["status"]["id"])][
        "name"] == "Deprecated"


def test_an_interrupted_create_is_found_incomplete_and_update_finishes_it(sb):
    z = client(sb)
    sb.zephyr.faults.fail_write_at, sb.zephyr.faults.fail_writes_after = 2, True  # the case, then nothing
    with pytest.raises(CasewrightError):
        z.create(case(1, story_id=story_id(sb)))
    sb.zephyr.faults.clear()
    found = client(sb).find(case_id="ER-2-TC-01")
    assert len(found) == 1 and not found[0].complete and found[0].content["steps"] == []
    client(sb).update(found[0].id, case(1, story_id=story_id(sb)))
    done = client(sb).read(found[0].id)
    assert done.complete and done.content == z.native(case(1)) and done.story_keys == [story_id(sb)]


def test_unknown_project_priority_or_custom_field_is_a_clear_error(sb):
    with pytest.raises(CasewrightError, match="no project NOPE"):
        ZephyrScale(sb.zephyr_url, API_TOKEN, project_key="NOPE", retry=FAST_RETRY).create(case())
    with pytest.raises(CasewrightError, match=r"no priority 'Urgent' \(there are: High, Normal, Low\)"):
        client(sb).create(case(priority="Urgent"))
    with pytest.raises(CasewrightError, match="custom field 'missing' does not exist"):
        client(sb, identity_field="missing").create(case())
    with pytest.raises(CasewrightError, match="numeric id"):
        client(sb).create(case(story_id="ER-2"))


def test_wrong_token_is_one_clear_error_naming_the_setting(sb):
    with pytest.raises(CasewrightError) as err:
        client(sb, token="wrong").existing()
    assert "Zephyr Scale rejected the credentials (401)" in str(err.value) and "ZEPHYR_API_TOKEN" in str(err.value)
    assert "wrong" not in str(err.value)
    with pytest.raises(CasewrightError, match="ZEPHYR_API_TOKEN is not set"):
        ZephyrScale(sb.zephyr_url, None, project_key="ER")


def test_429_and_503_are_retried_and_a_lost_create_is_not_duplicated(sb):
    z = client(sb)
    sb.zephyr.faults.throttle_next, sb.zephyr.faults.retry_after, sb.zephyr.faults.unavailable_next = 1, 1, 1
    key = z.create(case(1, story_id=story_id(sb)))
    assert z.sleep.waits[0] == 1.0 and z.read(key).complete
    sb.zephyr.faults.fail_write_at, sb.zephyr.faults.apply_then_fail = 1, True
    sb.zephyr.faults.writes_seen = 0
    key2 = z.create(case(2, story_id=story_id(sb)))
    assert sorted(sb.zephyr.cases) == [key, key2] and z.read(key2).complete

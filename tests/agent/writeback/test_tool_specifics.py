"""What each test-management write-back does of its own, against the sandbox with the real clients:
Xray Cloud's Test Repository folder and Test Set per epic, Zephyr Scale's folder and link by the
story's numeric id, TestRail's sections per epic and story with `refs`, its required custom fields
reported before anything is written and filled from the house template's field map."""

from __future__ import annotations

import pytest
import yaml

from agent.generation.template import BUNDLED_TEMPLATE, load_template
from agent.writeback.tools import ToolWriteBack
from connectors.case_targets import CaseTargets
from connectors.errors import CasewrightError
from support.sandbox import API_TOKEN, EMAIL, FAST_RETRY, case_set_from_jira, start_sandbox, writer_on

EPIC = "ER-1"


@pytest.fixture()
def cloud():
    sb, creds = start_sandbox("cloud")
    sb.creds = creds
    try:
        yield sb
    finally:
        sb.stop()


def targets(sb, **kw) -> CaseTargets:
    return CaseTargets(xray_url=sb.xray_url, xray_client_id=EMAIL, xray_client_secret=API_TOKEN,
                       zephyr_url=sb.zephyr_url, zephyr_api_token=API_TOKEN, testrail_url=sb.testrail_url,
                       testrail_email=EMAIL, testrail_api_key=API_TOKEN, testrail_project_id=1, retry=FAST_RETRY, **kw)


def write_back(sb, mode: str, run: str, *, template=None, **kw) -> ToolWriteBack:
    return ToolWriteBack.for_mode(mode, targets(sb, **kw), writer_on(sb, sb.creds),
                                  fields=(template or load_template()).tool_fields(mode), run_id=run)


def all_writes(sb) -> list:
    return [r for log in (sb.requests, sb.xray.requests, sb.zephyr.requests, sb.testrail.requests) for r in log
            if r.is_write]


def test_xray_cloud_puts_new_tests_in_the_epic_folder_and_test_set(cloud, tmp_path):
    cs = case_set_from_jira(cloud, cloud.creds, EPIC, tmp_path)
    # the first run stops before the Test Set (Xray refuses to create it): the rerun puts every test in it
    # writes: two folders, the tests, then the Test Set
    cloud.xray.faults.fail_write_at, cloud.xray.faults.fail_writes_after = 2 + len(cs.cases) + 1, True
    with pytest.raises(CasewrightError, match="create the Test Set of ER-1"):
        write_back(cloud, "xray", "a", xray_folder="/casewright/{epic}", xray_test_set=True).run(cs)
    cloud.xray.faults.clear()
    assert cloud.xray.test_sets == {}
    result = write_back(cloud, "xray", "a", xray_folder="/casewright/{epic}", xray_test_set=True).run(cs)
    assert result.plan.counts()["unchanged"] == len(cs.cases)
    ids = [cloud.state.issues[result.keys[c.id]]["id"] for c in cs.cases]
    assert {cloud.xray.tests[i]["folder"] for i in ids} == {"/casewright/ER-1"}
    assert all(cloud.xray.tests[i]["testType"]["name"] == "Manual" for i in ids)
    [(set_id, members)] = cloud.xray.test_sets.items()
    assert sorted(members) == sorted(ids)
    assert cloud.state.issues[next(k for k, v in cloud.state.issues.items() if v["id"] == set_id)
                              ]["fields"]["summary"].startswith("ER-1: Payment difficulty")
    for case in cs.cases:   # linked to its story with "Tests"
        links = cloud.state.issues[result.keys[case.id]]["fields"]["issuelinks"]
        assert any(lk["type"]["name"] == "Tests" and lk.get("outwardIssue", {}).get("key") == case.story_key
                   for lk in links)
    for log in (cloud.requests, cloud.xray.requests):
        log.clear()
    again = write_back(cloud, "xray", "b", xray_folder="/casewright/{epic}", xray_test_set=True).run(cs)
    assert again.writes == 0 and all_writes(cloud) == [] and len(cloud.xray.test_sets) == 1


def test_zephyr_uses_the_epic_folder_links_by_numeric_story_id_and_maps_priorities(cloud, tmp_path):
    cs = case_set_from_jira(cloud, cloud.creds, EPIC, tmp_path)
    result = write_back(cloud, "zephyr", "a", zephyr_folder="casewright/{epic}").run(cs)
    for case in cs.cases:
        tc = cloud.zephyr.cases[result.keys[case.id]]
        assert cloud.zephyr.folders[tc["folder"]["id"]]["name"] == "ER-1"
        assert [str(link["issueId"]) for link in tc["links"]["issues"]] == [cloud.state.issues[case.story_key]["id"]]
        priority = next(p["name"] for p in cloud.zephyr.priorities if p["id"] == tc["priority"]["id"])
        assert priority == {"Critical": "High", "Medium": "Normal"}.get(case.priority, case.priority)
    assert [s["inline"]["description"] for s in cloud.zephyr.steps[result.keys[cs.cases[0].id]]] == [
        s.action for s in cs.cases[0].steps]


def test_testrail_sections_refs_and_required_fields_from_the_house_template(cloud, tmp_path):
    cloud.testrail.add_case_field("uat_owner", "UAT owner", "String", templates=[2], required=True)
    cs = case_set_from_jira(cloud, cloud.creds, EPIC, tmp_path)
    cloud.reset_log()
    for dry_run in (True, False):
        with pytest.raises(CasewrightError) as err:
            write_back(cloud, "testrail", "a").run(cs, dry_run=dry_run)
        assert "requires the case fields UAT owner (custom_uat_owner)" in str(err.value)
        assert "house template does not fill them" in str(err.value) and "\n" not in str(err.value)
    assert all_writes(cloud) == []   # reported before anything was written, Jira included
    raw = yaml.safe_load(BUNDLED_TEMPLATE.read_text())
    raw["tools"] = {"testrail": {"custom_fields": {"custom_uat_owner": "qa.lead for {story}"},
                                 "types": {"positive": "Functional"}}}
    path = tmp_path / "house.yaml"
    path.write_text(yaml.safe_dump(raw))
    template = load_template(path)
    result = write_back(cloud, "testrail", "b", template=template).run(cs)
    assert result.plan.counts()["create"] == len(cs.cases)
    types = {t["name"]: t["id"] for t in cloud.testrail.case_types()}
    sections = cloud.testrail.sections
    for case in cs.cases:
        tc = cloud.testrail.cases[int(result.keys[case.id])]
        assert tc["refs"] == case.story_key and tc["custom_uat_owner"] == f"qa.lead for {case.story_key}"
        assert tc["type_id"] == (types["Functional"] if case.kind == "positive" else types["Acceptance"])
        story, epic = sections[tc["section_id"]], sections[sections[tc["section_id"]]["parent_id"]]
        assert story["name"].startswith(case.story_key + " ") and epic["name"].startswith("ER-1 Payment difficulty")
    # the template's entries go over the defaults: the other kinds stay Acceptance, the other tools untouched
    assert template.tool_fields("zephyr") == load_template().tool_fields("zephyr")


def test_xray_leaves_alone_the_test_issues_an_issues_write_back_wrote(cloud, tmp_path):
    from agent.writeback.jira import WriteBack

    cs = case_set_from_jira(cloud, cloud.creds, EPIC, tmp_path)
    written = WriteBack(writer_on(cloud, cloud.creds), mode="issues", run_id="a").run(cs)
    before = {k: dict(cloud.state.issues[k]["fields"]) for k in written.keys.values()}
    cloud.reset_log()
    result = write_back(cloud, "xray", "b").run(cs)
    assert result.plan.counts()["conflict"] == len(cs.cases) and result.plan.counts()["create"] == 0
    assert all("written by --write-back issues, not xray" in i.reason for i in result.plan.items)
    assert {k: dict(cloud.state.issues[k]["fields"]) for k in written.keys.values()} == before
    assert all(w.path.startswith(f"/rest/api/2/issue/{EPIC}/") for w in all_writes(cloud))

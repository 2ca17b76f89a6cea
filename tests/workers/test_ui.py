"""The review pages over HTTP, in process (FastAPI TestClient on the service app, pages under
/ui/): who may see and change what, CSRF, escaping, edits and their errors, decisions. The same
pages in a real browser: tests/integration/test_review_in_browser.py."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from agent.configuration import Configuration
from agent.context import Services
from agent.runner import generate_epic, run_snapshot
from agent.runs import load_run
from support.sandbox import API_TOKEN, EMAIL, sample_doc, start_sandbox
from support.service import cleanup, make_settings, unique_prefix
from workers.ui.views import safe_href

DB = 9
KEY = "ui-test-key"


def review_run(settings, services=None, **options) -> str:
    cfg = Configuration.from_settings(settings, formats=[], review=True, **{"source": "sample",
                                      "story_keys": ["ER-2", "ER-7"], "coverage": "all", **options})
    return generate_epic("ER-1", cfg, services).run_id


@pytest.fixture
def ui(tmp_path):
    prefix = unique_prefix("ui")
    settings = make_settings(DB, prefix, api_key=KEY, data_dir=tmp_path / "data", out_dir=tmp_path / "out")
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        yield client, settings, review_run(settings)
    cleanup(DB, prefix)


def login(client, name="qa.lead", key=KEY):
    page = BeautifulSoup(client.get("/ui/login").text, "html.parser")
    csrf = page.find("input", {"name": "csrf"})["value"]
    return client.post("/ui/login", data={"csrf": csrf, "name": name, "key": key, "next": "/ui/"},
                       follow_redirects=False)


def hidden(html: str) -> dict:
    page = BeautifulSoup(html, "html.parser")
    form = page.find("form", action=lambda a: a and a.endswith("/edit"))
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def test_anonymous_requests_go_to_the_login_or_get_401(ui):
    client, settings, run_id = ui
    for path in ("/ui/", f"/ui/runs/{run_id}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/ui/login?next={path}"
    for action in ("approve", "reject", "edit", "drop"):
        r = client.post(f"/ui/runs/{run_id}/{action}", data={"reason": "x", "case_id": "ER-UAT-2-01"})
        assert r.status_code == 401
    assert load_run(settings.data_dir, run_id)["status"] == "waiting-approval"


def test_a_wrong_key_sees_no_run_and_changes_nothing(ui):
    client, settings, run_id = ui
    r = login(client, key="wrong")
    assert r.status_code == 401 and "wrong API key" in r.text and "casewright_session" not in r.headers.get("set-cookie", "")
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    for path in ("/ui/", f"/ui/runs/{run_id}"):
        r = client.get(path, headers={"X-API-Key": "wrong"})
        assert r.status_code == 401 and "ER-UAT" not in r.text and run_id not in r.text
    r = client.post(f"/ui/runs/{run_id}/approve", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and load_run(settings.data_dir, run_id)["status"] == "waiting-approval"


def test_login_sets_a_strict_http_only_session_cookie(ui):
    client, _, run_id = ui
    r = login(client)
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("casewright_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert KEY not in cookie
    page = client.get(f"/ui/runs/{run_id}")
    assert page.status_code == 200 and "qa.lead" in page.text and "ER-UAT-2-01" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # the login form's own CSRF token is required too
    r = client.post("/ui/login", data={"name": "x", "key": KEY}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/ui/logout", data={"csrf": hidden(page.text)["csrf"]}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_forms_without_the_session_csrf_token_are_refused(ui):
    client, settings, run_id = ui
    login(client)
    fields = hidden(client.get(f"/ui/runs/{run_id}").text)
    for csrf in (None, "forged"):
        data = {**fields, "title": "Changed by a forged form", **({"csrf": csrf} if csrf else {})}
        if csrf is None:
            data.pop("csrf")
        r = client.post(f"/ui/runs/{run_id}/edit", data=data, follow_redirects=False)
        assert r.status_code == 403
        r = client.post(f"/ui/runs/{run_id}/approve", data={"csrf": csrf or ""}, follow_redirects=False)
        assert r.status_code == 403
    record = load_run(settings.data_dir, run_id)
    assert record["status"] == "waiting-approval" and "edits" not in record


def test_an_edit_through_the_form_is_saved_and_recorded(ui):
    client, settings, run_id = ui
    login(client, name="Tess Tester")
    fields = hidden(client.get(f"/ui/runs/{run_id}").text)
    r = client.post(f"/ui/runs/{run_id}/edit", data={
        **fields, "title": "Verify that the edited title shows", "priority": "Low",
        "step-1-action": "Open the account", "step-1-data": "", "step-1-expected": "It opens",
        "step-2-action": "Grant the extension", "step-2-data": "21 days", "step-2-expected": "It is granted",
        "step-3-action": "", "step-3-data": "", "step-3-expected": "",
        "data-1-name": "Account", "data-1-value": "ACC-1", "data-2-name": "", "data-2-value": ""},
        follow_redirects=False)
    assert r.status_code == 303 and "done=edited" in r.headers["location"]
    _, values, _ = run_snapshot(settings.data_dir, run_id)
    case = next(c for c in values["cases"] if c.id == fields["case_id"])
    assert case.title == "Verify that the edited title shows" and case.priority == "Low"
    assert [(s.action, s.data, s.expected) for s in case.steps] == [
        ("Open the account", "", "It opens"), ("Grant the extension", "21 days", "It is granted")]
    assert case.test_data == {"Account": "ACC-1"}
    edit = load_run(settings.data_dir, run_id)["edits"][0]
    assert edit["by"] == "Tess Tester" and edit["case_id"] == case.id
    page = client.get(r.headers["location"]).text
    assert "Saved" in page and "Verify that the edited title shows" in page and "Tess Tester" in page


def test_a_bad_edit_shows_the_error_beside_what_was_typed(ui):
    client, settings, run_id = ui
    login(client)
    fields = hidden(client.get(f"/ui/runs/{run_id}").text)
    r = client.post(f"/ui/runs/{run_id}/edit", data={**fields, "priority": "Urgent",
                                                      "step-1-action": "Typed action", "step-1-expected": ""})
    assert r.status_code == 400
    page = BeautifulSoup(r.text, "html.parser")
    assert "no expected result" in page.find(class_="alert").get_text()
    form = page.find("input", {"name": "case_id", "value": fields["case_id"]}).find_parent("details")
    assert form.has_attr("open") and "Typed action" in form.get_text()
    assert "edits" not in load_run(settings.data_dir, run_id)


def test_a_stale_page_cannot_overwrite_a_newer_edit(ui):
    client, settings, run_id = ui
    login(client)
    fields = hidden(client.get(f"/ui/runs/{run_id}").text)
    assert client.post(f"/ui/runs/{run_id}/edit", data={**fields, "priority": "Low"},
                       follow_redirects=False).status_code == 303
    r = client.post(f"/ui/runs/{run_id}/edit", data={**fields, "priority": "High"})
    assert r.status_code == 409 and "reload" in r.text
    assert client.post(f"/ui/runs/{run_id}/approve", data={"csrf": fields["csrf"], "version": fields["version"]}
                       ).status_code == 409
    assert [e["changes"]["priority"]["to"] for e in load_run(settings.data_dir, run_id)["edits"]] == ["Low"]


def test_scripts_use_the_api_key_and_are_recorded_as_such(ui):
    client, settings, run_id = ui
    headers = {"X-API-Key": KEY}
    page = client.get(f"/ui/runs/{run_id}", headers=headers)
    assert page.status_code == 200
    case_id = hidden(page.text)["case_id"]
    r = client.post(f"/ui/runs/{run_id}/drop", data={"case_id": case_id}, headers=headers, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/ui/runs/{run_id}/reject", data={"reason": " "}, headers=headers)
    assert r.status_code == 400 and "needs a reason" in r.text
    r = client.post(f"/ui/runs/{run_id}/approve", headers=headers, follow_redirects=False)
    assert r.status_code == 303  # the decision runs on after the answer (here: before TestClient returns)
    record = load_run(settings.data_dir, run_id)
    assert record["status"] == "done" and record["approval"]["by"] == "api-key"
    assert record["edits"][0]["by"] == "api-key" and record["edits"][0]["action"] == "drop"
    assert client.post(f"/ui/runs/{run_id}/approve", headers=headers).status_code == 409


def test_a_rules_run_rejected_in_the_page_ends_as_rejected(ui):
    client, settings, run_id = ui
    login(client)
    fields = hidden(client.get(f"/ui/runs/{run_id}").text)
    r = client.post(f"/ui/runs/{run_id}/reject", data={"csrf": fields["csrf"], "reason": "Too vague"},
                    follow_redirects=False)
    assert r.status_code == 303
    record = load_run(settings.data_dir, run_id)
    assert record["status"] == "rejected" and record["approval"]["reason"] == "Too vague"


def test_unknown_and_malformed_run_ids_are_404(ui):
    client, _, _ = ui
    headers = {"X-API-Key": KEY}
    assert client.get("/ui/runs/20990101-000000-abcdef", headers=headers).status_code == 404
    for bad in ("checkpoints.sqlite", "x%00y", "a.b"):
        r = client.get(f"/ui/runs/{bad}", headers=headers)
        assert r.status_code == 404 and "not a run id" in r.text


def test_everything_from_jira_is_escaped(tmp_path):
    doc = sample_doc()
    story = next(i for i in doc["issues"] if i["key"] == "ER-2")
    story["fields"]["summary"] = 'Grant <script>alert("x")</script> an extension'
    source = save_workspace_doc(doc, tmp_path)
    settings = make_settings(DB, unique_prefix("ui"), api_key=KEY, data_dir=tmp_path / "data")
    run_id = review_run(settings, source=str(source))
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        html = client.get(f"/ui/runs/{run_id}", headers={"X-API-Key": KEY}).text
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert safe_href("javascript:alert(1)") is None and safe_href("https://jira.example.com/x") == "https://jira.example.com/x"


def save_workspace_doc(doc: dict, tmp_path):
    path = tmp_path / "workspace.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_proxy_user_header_logs_in_and_still_needs_the_csrf_token(tmp_path):
    settings = make_settings(DB, unique_prefix("ui"), data_dir=tmp_path / "data", ui_user_header="X-Forwarded-User")
    run_id = review_run(settings)
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        assert client.get("/ui/", follow_redirects=False).status_code == 303
        as_tess = {"X-Forwarded-User": "tess@example.com"}
        page = client.get(f"/ui/runs/{run_id}", headers=as_tess)
        assert page.status_code == 200 and "tess@example.com" in page.text
        fields = hidden(page.text)
        r = client.post(f"/ui/runs/{run_id}/edit", data={**fields, "priority": "Low"},
                        headers={"X-Forwarded-User": "mallory@example.com"})
        assert r.status_code == 403
        r = client.post(f"/ui/runs/{run_id}/edit", data={**fields, "priority": "Low"}, headers=as_tess,
                        follow_redirects=False)
        assert r.status_code == 303
    assert load_run(settings.data_dir, run_id)["edits"][0]["by"] == "tess@example.com"


def test_without_a_key_or_a_proxy_header_the_pages_are_disabled(tmp_path):
    settings = make_settings(DB, unique_prefix("ui"), data_dir=tmp_path / "data")
    from workers.api import create_app

    with TestClient(create_app(settings)) as client:
        r = client.get("/ui/")
        assert r.status_code == 503 and "CASEWRIGHT_API_KEY" in r.text


def test_the_plan_shows_each_case_action_and_the_diff_of_an_update(tmp_path):
    sandbox, creds = start_sandbox("cloud")
    try:
        settings = make_settings(DB, unique_prefix("ui"), api_key=KEY, data_dir=tmp_path / "data",
                                 out_dir=tmp_path / "out", jira_url=sandbox.url, jira_email=EMAIL,
                                 jira_api_token=API_TOKEN)
        services = Services.from_settings(settings)
        from workers.api import create_app

        with TestClient(create_app(settings)) as client:
            headers = {"X-API-Key": KEY}
            first = review_run(settings, services, write_back="issues", story_keys=["ER-2"])
            page = BeautifulSoup(client.get(f"/ui/runs/{first}", headers=headers).text, "html.parser")
            actions = [b.get_text() for b in page.select("#plan table .badge")]
            assert actions and set(actions) == {"create"}
            assert client.post(f"/ui/runs/{first}/approve", headers=headers, follow_redirects=False).status_code == 303
            assert load_run(settings.data_dir, first)["status"] == "done"

            second = review_run(settings, services, write_back="issues", story_keys=["ER-2"])
            html = client.get(f"/ui/runs/{second}", headers=headers).text
            assert {b.get_text() for b in BeautifulSoup(html, "html.parser").select("#plan table .badge")} == {"unchanged"}
            fields = hidden(html)
            r = client.post(f"/ui/runs/{second}/edit", headers=headers, follow_redirects=False,
                            data={**fields, "step-1-action": "Open the account from the search results",
                                  "step-1-expected": "The account opens on the Details tab"})
            assert r.status_code == 303
            page = BeautifulSoup(client.get(f"/ui/runs/{second}", headers=headers).text, "html.parser")
            rows = {tr.find("a").get_text(): tr for tr in page.select("#plan table tbody tr")}
            updated = rows[fields["case_id"]]
            assert updated.select_one(".badge").get_text() == "update"
            added = [s.get_text() for s in updated.select(".d-add")]
            removed = [s.get_text() for s in updated.select(".d-del")]
            assert any("The account opens on the Details tab" in line for line in added)
            assert removed and all(line.startswith("-") for line in removed)
            assert updated.find("a", href=f"{sandbox.url}/browse/{updated.find_all('a')[1].get_text()}")
            assert {r.select_one(".badge").get_text() for k, r in rows.items() if k != fields["case_id"]} == {"unchanged"}
    finally:
        sandbox.stop()

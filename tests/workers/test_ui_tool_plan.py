"""The review pages plan a write-back to a test-management tool like a Jira one: a run waiting for
approval shows each case's action in Zephyr Scale, approving writes it there, and the next run's
plan says unchanged; a tool's key is not shown as a link into Jira."""

from __future__ import annotations

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from agent.configuration import Configuration
from agent.context import Services
from agent.runner import generate_epic
from agent.runs import load_run
from support.sandbox import API_TOKEN, EMAIL, start_sandbox
from support.service import cleanup, make_settings, unique_prefix

DB = 9
KEY = "ui-tool-key"


def review_run(settings, services) -> str:
    cfg = Configuration.from_settings(settings, formats=[], review=True, source="sample", story_keys=["ER-2"],
                                      write_back="zephyr")
    return generate_epic("ER-1", cfg, services).run_id


def test_the_plan_of_a_zephyr_write_back_is_shown_approved_and_unchanged_after(tmp_path):
    sandbox, _ = start_sandbox("cloud")
    prefix = unique_prefix("ui")
    try:
        settings = make_settings(DB, prefix, api_key=KEY, data_dir=tmp_path / "data", out_dir=tmp_path / "out",
                                 jira_url=sandbox.url, jira_email=EMAIL, jira_api_token=API_TOKEN,
                                 zephyr_url=sandbox.zephyr_url, zephyr_api_token=API_TOKEN)
        services = Services.from_settings(settings)
        from workers.api import create_app

        with TestClient(create_app(settings)) as client:
            headers = {"X-API-Key": KEY}
            first = review_run(settings, services)
            page = BeautifulSoup(client.get(f"/ui/runs/{first}", headers=headers).text, "html.parser")
            actions = [b.get_text() for b in page.select("#plan table .badge")]
            assert actions and set(actions) == {"create"}
            assert sandbox.zephyr.cases == {}   # nothing written before approval
            assert client.post(f"/ui/runs/{first}/approve", headers=headers, follow_redirects=False).status_code == 303
            assert load_run(settings.data_dir, first)["status"] == "done"
            assert len(sandbox.zephyr.cases) == len(actions)

            second = review_run(settings, services)
            page = BeautifulSoup(client.get(f"/ui/runs/{second}", headers=headers).text, "html.parser")
            assert {b.get_text() for b in page.select("#plan table .badge")} == {"unchanged"}
            keys = [tr.find_all("td")[2].get_text(strip=True) for tr in page.select("#plan table tbody tr")]
            assert sorted(keys) == sorted(sandbox.zephyr.cases)
            assert not page.select(f'#plan a[href*="/browse/{keys[0]}"]')
            assert "In Zephyr Scale" in [th.get_text() for th in page.select("#plan table th")]
    finally:
        sandbox.stop()
        cleanup(DB, prefix)

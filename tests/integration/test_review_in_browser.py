"""The review pages in a real browser (headless Chromium, Playwright): runs generated with
`casewright generate --review` against the Jira emulator, the service app (`workers.api.create_app`,
pages under /ui/) on a real port, a QA lead who logs in, edits a case and approves it, or rejects
a run that then goes through one revise round with the OpenAI-compatible stub."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from connectors.emulators.atlassian import SandboxServer
from connectors.emulators.openai_chat import OpenAIStub
from connectors.emulators.server import ThreadedServer
from support.browser import chromium, log_in
from support.sandbox import sample_doc
from support.service import cleanup, make_settings, unique_prefix

pytestmark = pytest.mark.xdist_group("review_browser")

DB = 10
API_KEY = "review-api-key"
EMAIL, TOKEN = "qa.lead@example.com", "review-token"
SCRIPT = '<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'


def seed_with_script_in_a_summary() -> dict:
    doc = sample_doc()
    story = next(i for i in doc["issues"] if i["key"] == "ER-2")
    story["fields"]["summary"] += " " + SCRIPT
    return doc


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    prefix = unique_prefix("ui")
    sandbox = SandboxServer(seed_with_script_in_a_summary(), mode="cloud", email=EMAIL, api_token=TOKEN).start()
    stub = OpenAIStub().start()
    settings = make_settings(DB, prefix, api_key=API_KEY, jira_url=sandbox.url, jira_email=EMAIL,
                             jira_api_token=TOKEN, data_dir=tmp / "data", out_dir=tmp / "out")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWRIGHT_", "JIRA_", "OPENAI_"))}
    env.update(CASEWRIGHT_DATA_DIR=str(tmp / "data"), JIRA_URL=sandbox.url, JIRA_EMAIL=EMAIL,
               JIRA_API_TOKEN=TOKEN, NO_COLOR="1", COLUMNS="200")

    def generate(*args: str, model: bool = False) -> str:
        extra = {"CASEWRIGHT_MODEL": "openai-compatible:casewright-stub",
                 "CASEWRIGHT_MODEL_BASE_URL": stub.base_url} if model else {}
        r = subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--jira", "--review", *args],
                           env={**env, **extra}, cwd=tmp, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return re.search(r"casewright approve (\S+)", r.stdout).group(1)

    from workers.api import create_app

    server = ThreadedServer(create_app(settings), name="review-ui").start()
    try:
        with chromium() as browser:
            yield {"browser": browser, "url": server.url, "settings": settings, "sandbox": sandbox, "stub": stub,
                   "generate": generate, "tmp": tmp}
    finally:
        server.close()
        stub.stop()
        sandbox.stop()
        cleanup(DB, prefix)


def record(stack, run_id: str) -> dict:
    return json.loads((stack["settings"].data_dir / "runs" / f"{run_id}.json").read_text())


def wait_status(page, wanted: str, timeout: float = 180) -> None:
    """Open the run page again until its status is `wanted` (a running run's page also reloads
    itself, which can abort a navigation of ours: then look again)."""
    from playwright.sync_api import Error

    url = page.url.split("?")[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            page.goto(url)
            status = page.inner_text("#run-status", timeout=5000).strip()
        except Error:
            status = None
        if status == wanted:
            return
        assert time.monotonic() < deadline, f"status still {status!r}, not {wanted!r}"
        time.sleep(1)


def test_a_wrong_key_sees_no_run(stack):
    run_id = stack["generate"]("--stories", "ER-3", "--format", "json", "--out", str(stack["tmp"] / "out-key"))
    page = log_in(stack["browser"], stack["url"], name="mallory", key="not-the-key")
    assert "/ui/login" in page.url and "wrong API key" in page.content()
    page.goto(f"{stack['url']}/ui/runs/{run_id}")
    assert "/ui/login" in page.url
    assert page.locator("article.case").count() == 0 and page.locator("#approve").count() == 0
    page.context.close()
    with httpx.Client(base_url=stack["url"]) as http:
        for path in ("/ui/", f"/ui/runs/{run_id}"):
            r = http.get(path, headers={"X-API-Key": "not-the-key"})
            assert r.status_code == 401 and run_id not in r.text
            r = http.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
        r = http.post(f"/ui/runs/{run_id}/approve", headers={"X-API-Key": "not-the-key"})
        assert r.status_code == 401
        r = http.post(f"/ui/runs/{run_id}/approve")
        assert r.status_code == 401
        assert http.get("/ui/", headers={"X-API-Key": API_KEY}).status_code == 200
    assert record(stack, run_id)["status"] == "waiting-approval"


def test_edit_an_expected_result_approve_and_jira_holds_the_edit(stack, caplog):
    caplog.set_level(logging.INFO, logger="workers.ui.audit")
    out = stack["tmp"] / "out-approve"
    run_id = stack["generate"]("--stories", "ER-2", "--write-back", "issues", "--format", "md,json", "--out", str(out))
    page = log_in(stack["browser"], stack["url"], name="qa.lead", key=API_KEY, path=f"/ui/runs/{run_id}")
    assert page.url.endswith(f"/ui/runs/{run_id}")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

    # the story's summary holds a <script> and an onerror handler: shown as text, never run
    heading = page.locator("h2", has_text="ER-2").first.inner_text()
    assert SCRIPT in heading
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a laptop screen

    # the write-back plan: every case created, nothing in Jira yet
    assert page.locator("#plan .badge.action-create").count() >= 1

    card = page.locator("article.case").first
    case_id = card.locator(".case-id").inner_text().strip()
    card.locator("details.edit > summary").click()
    steps = card.locator(".step-edit:not(.new)").count()
    edited = f"EDITED BY REVIEW: the Account page shows the confirmation for {case_id}"
    card.locator(f'textarea[name="step-{steps}-expected"]').fill(edited)
    card.locator("button", has_text="Save").click()
    page.wait_for_load_state()
    assert "Saved" in page.locator(".notice").inner_text()
    card = page.locator(f"article.case:has(.case-id:text-is('{case_id}'))").first
    assert edited in card.locator("td.expected").last.inner_text()
    assert card.locator(".badge.edited").count() == 1
    assert "qa.lead" in page.locator("#edits").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(stack["tmp"] / "review-run.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1366, "height": 1400})
    page.screenshot(path=str(stack["tmp"] / "review-run-full.png"), full_page=True)

    page.click("#approve")
    assert dialogs and "Approve" in dialogs[-1]
    wait_status(page, "done")

    issues = [i for i in stack["sandbox"].state.issues.values()
              if (i["fields"].get("issuetype") or {}).get("name") == "Test"]
    holding = [i for i in issues if edited in str(i["fields"].get("description"))]
    assert len(holding) == 1, [i["key"] for i in issues]
    assert "reviewer-edited" in holding[0]["fields"]["labels"]
    labels = [lb for i in issues for lb in i["fields"]["labels"] if lb.startswith("casewright-case-")]
    assert len(labels) == len(set(labels))  # no case written twice
    rec = record(stack, run_id)
    assert rec["status"] == "done" and rec["approval"]["status"] == "approved" and rec["approval"]["by"] == "qa.lead"
    assert [(e["action"], e["case_id"], e["by"]) for e in rec["edits"]] == [("edit", case_id, "qa.lead")]
    assert "expected result of step" in rec["edits"][0]["what"]
    report = (out / "ER-1.md").read_text()
    assert edited in report and "Reviewer edit by qa.lead" in report
    logged = [r.getMessage() for r in caplog.records if r.name == "workers.ui.audit"]
    assert any(m.startswith("edit by 'qa.lead'") and case_id in m for m in logged)
    assert any(m.startswith("approve by 'qa.lead'") and run_id in m for m in logged)


def test_a_rejected_run_goes_through_one_revise_round(stack):
    run_id = stack["generate"]("--stories", "ER-2,ER-3", "--format", "json", "--out", str(stack["tmp"] / "out-rej"),
                               model=True)
    first = len(stack["stub"].requests)
    page = log_in(stack["browser"], stack["url"], name="qa.lead", key=API_KEY, path=f"/ui/runs/{run_id}")
    reason = "Spell out the SMS text in every positive case"
    page.fill("#reason", reason)
    page.click("#reject")
    page.wait_for_load_state()
    wait_status(page, "waiting-approval")
    revise = stack["stub"].requests[first:]
    assert len(revise) == 2  # one more round: one call per story in scope
    assert all(reason in q.body["messages"][1]["content"] for q in revise)
    rec = record(stack, run_id)
    assert rec["approval"]["rejections"] == 1 and rec["approval"]["by"] == "qa.lead"
    assert rec["summary"]["revise_rounds"] == 1
    assert reason in page.locator(".decision-made").inner_text()
    # the keyboard reaches everything: the skip link first, then j moves from case to case
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.tagName") == "ARTICLE"

"""Headless Chromium for the review pages' browser tests: Debian's `chromium` package (.ci/run
installs it) driven by Playwright's Python package, pointed at it with `executable_path` (no
browser is ever downloaded), and helpers to serve an app and log in."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LAPTOP = {"width": 1366, "height": 768}


def chromium_path() -> str:
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        pytest.fail("headless Chromium is missing: install Debian's package (apt-get install -y chromium); "
                    ".ci/run does", pytrace=False)
    return found


@contextmanager
def chromium() -> Iterator[object]:
    """A launched headless Chromium (playwright Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser, base_url: str, *, name: str, key: str, path: str = "/ui/"):
    """A new browser context and page, logged in through the login form; returns the page."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(base_url + path)
    page.fill("#name", name)
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page

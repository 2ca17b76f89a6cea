"""`casewright review [RUN]`: the review pages on 127.0.0.1 for the person at the terminal; the
URL it prints logs them in, nothing else does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx

from agent.configuration import Configuration
from agent.runner import generate_epic


def start_review(tmp_path, *args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1", "COLUMNS": "300"}
    env.pop("CASEWRIGHT_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "casewright", "review", *args, "--no-browser", "--port", "0"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/ui/login\?\S+)", line)
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("no review URL printed:\n" + "".join(lines))


def test_review_prints_a_local_url_that_logs_in_and_opens_the_run(tmp_path):
    cfg = Configuration(source="sample", formats=[], data_dir=str(tmp_path / "data"), review=True,
                        story_keys=["ER-3"], coverage="all")  # every case of ER-3, ER-UAT-3-01 included
    run_id = generate_epic("ER-1", cfg).run_id
    proc, url = start_review(tmp_path, run_id)
    try:
        root = url.split("/ui/")[0]
        with httpx.Client(timeout=30) as http:
            assert http.get(f"{root}/ui/runs/{run_id}").status_code == 303  # not without the printed URL
            assert http.get(url.replace("token=", "token=x")).status_code == 401
            page = http.get(url, follow_redirects=True)
            assert page.status_code == 200 and str(page.url).endswith(f"/ui/runs/{run_id}")
            assert "ER-UAT-3-01" in page.text and "waiting-approval" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_review_of_an_unknown_run_is_one_line(tmp_path):
    env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(tmp_path / "data")}
    r = subprocess.run([sys.executable, "-m", "casewright", "review", "20990101-000000-abcdef", "--no-browser"],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown run" in r.stderr and "Traceback" not in r.stderr

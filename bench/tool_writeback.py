"""Benchmark: write-back to Xray Cloud, Xray Server, Zephyr Scale and TestRail (agent/writeback/tools.py)
against the sandbox's emulators on this machine, for the sample project's epic ER-1 (33 cases).

    .venv/bin/python bench/tool_writeback.py
    .venv/bin/python bench/tool_writeback.py --tools zephyr,testrail --runs 3

Per tool: the first write (seconds, requests sent to the tool and to Jira, writes), then an
unchanged rerun (seconds, requests, writes: 0 expected), the median of --runs fresh sandboxes.
The emulators answer in-process over HTTP on 127.0.0.1, so the figures are casewright's own cost
and the request counts, not a vendor's latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.configuration import Configuration  # noqa: E402
from agent.generation.template import load_template  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from agent.state import case_set  # noqa: E402
from agent.writeback.tools import ToolWriteBack  # noqa: E402
from connectors.case_targets import CaseTargets  # noqa: E402
from connectors.emulators.atlassian import SandboxServer  # noqa: E402
from connectors.jira_writer import writer_for  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402

EMAIL, TOKEN, PAT = "bench@example.com", "bench-token", "bench-pat"
TOOLS = ("xray-cloud", "xray-server", "zephyr", "testrail")


def requests_of(sb: SandboxServer) -> int:
    return sum(len(log) for log in (sb.requests, sb.xray.requests, sb.zephyr.requests, sb.testrail.requests))


def clear(sb: SandboxServer) -> None:
    for log in (sb.requests, sb.xray.requests, sb.zephyr.requests, sb.testrail.requests):
        log.clear()


def one(tool: str, cs) -> tuple[tuple[float, int, int], tuple[float, int, int]]:
    mode = "datacenter" if tool == "xray-server" else "cloud"
    with SandboxServer(SAMPLE_PATH, mode=mode, email=EMAIL, api_token=TOKEN, pat=PAT) as sb:
        targets = CaseTargets(xray_url=sb.xray_url, xray_client_id=EMAIL, xray_client_secret=TOKEN,
                              zephyr_url=sb.zephyr_url, zephyr_api_token=TOKEN, testrail_url=sb.testrail_url,
                              testrail_email=EMAIL, testrail_api_key=TOKEN, testrail_project_id=1)
        name = tool.split("-")[0]
        out = []
        for run in ("first", "rerun"):
            writer = writer_for(sb.url, **({"pat": PAT} if mode == "datacenter" else {"email": EMAIL, "api_token": TOKEN}))
            wb = ToolWriteBack.for_mode(name, targets, writer, fields=load_template().tool_fields(name), run_id=run)
            clear(sb)
            start = time.perf_counter()
            result = wb.run(cs)
            out.append((time.perf_counter() - start, requests_of(sb), result.writes))
        return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Configuration(source=str(SAMPLE_PATH), formats=[], data_dir=str(Path(tmp) / "data"),
                            out_dir=str(Path(tmp) / "out"))
        cs = case_set(generate_epic("ER-1", cfg).state, cfg, load_template().name)
    print(f"ER-1: {len(cs.cases)} cases; median of {args.runs} runs")
    print(f"{'tool':<12} {'first s':>8} {'requests':>9} {'writes':>7} | {'rerun s':>8} {'requests':>9} {'writes':>7}")
    for tool in [t.strip() for t in args.tools.split(",") if t.strip()]:
        runs = [one(tool, cs) for _ in range(args.runs)]
        first = [statistics.median(r[0][i] for r in runs) for i in range(3)]
        again = [statistics.median(r[1][i] for r in runs) for i in range(3)]
        print(f"{tool:<12} {first[0]:>8.2f} {first[1]:>9.0f} {first[2]:>7.0f} | {again[0]:>8.2f} {again[1]:>9.0f} "
              f"{again[2]:>7.0f}")


if __name__ == "__main__":
    main()

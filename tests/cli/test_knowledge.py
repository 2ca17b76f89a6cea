"""`casewright demo` ingests the sample first, and the cases it writes use values that exist only
in the sample's Confluence rule pages, citing the chunks; `ingest` and `search` from the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from agent.configuration import Configuration
from agent.runner import generate_epic
from connectors.workspace import SAMPLE_PATH
from support import ROOT

_VALUE = re.compile(r"\$\d[\d,]*\.\d\d|\b\d+ (?:calendar|business) days\b")


def page_only_values() -> set[str]:
    """Amounts and day limits written in a rule page and nowhere in the Jira issues."""
    doc = json.loads(SAMPLE_PATH.read_text())
    issues = json.dumps(doc["issues"])
    values = {m.group(0) for p in doc["pages"] for m in _VALUE.finditer(p["body"]["storage"]["value"])}
    return {v for v in values if v not in issues}


def cli(args: list[str], cwd: Path, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASEWRIGHT_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "COLUMNS": "200",
           "OMP_NUM_THREADS": "1"}
    env.pop("QDRANT_URL", None)
    return subprocess.run([sys.executable, "-c", "from casewright.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_demo_uses_rule_page_values_and_the_cli_ingests_and_searches(tmp_path):
    """One demo run (the costly part), then what can be checked on its output and its store."""
    tmp = tmp_path
    result = cli(["demo", "--epic", "ER-1", "--out", str(tmp / "out"), "--format", "md,json"], tmp, tmp / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Knowledge base" in result.stdout and "Added" in result.stdout  # it ingested first
    report = (tmp / "out" / "ER-1.md").read_text()
    only_in_pages = page_only_values()
    assert "$5,000.00" in only_in_pages
    used = {v for v in only_in_pages if v in report}
    assert "$5,000.00" in used, sorted(used)
    case_set = json.loads((tmp / "out" / "ER-1.json").read_text())
    grounded = [c for c in case_set["cases"]
                if any(s["kind"] == "page_section" for s in c["sources"])
                and "$5,000.00" in json.dumps(c["steps"]) + json.dumps(c["test_data"])]
    assert grounded, "no case takes $5,000.00 from a rule page"
    for case in grounded:
        cited = [s for s in case["sources"] if s["kind"] == "page_section"]
        assert all(s["id"].startswith("page:200001#") and s["title"].startswith("Payment Extension Rules")
                   for s in cited)
        assert any(s["id"] in report for s in cited)  # the report shows the chunk ids

    _ingest_again_embeds_nothing_and_search_prints_sources(tmp)


def test_without_the_knowledge_base_those_values_do_not_appear(tmp_path):
    cfg = Configuration(source="sample", data_dir=str(tmp_path / "empty"), out_dir=str(tmp_path / "out"),
                        formats=["md"])
    generate_epic("ER-1", cfg)
    report = (tmp_path / "out" / "ER-1.md").read_text()
    assert not {"$5,000.00", "21 calendar days"} & {v for v in page_only_values() if v in report}


def _ingest_again_embeds_nothing_and_search_prints_sources(tmp: Path) -> None:
    again = cli(["ingest", "--source", str(SAMPLE_PATH)], tmp, tmp / "data")
    assert again.returncode == 0, again.stdout + again.stderr
    header = next(line for line in again.stdout.splitlines() if "Added" in line)
    row = next(line for line in again.stdout.splitlines()[again.stdout.splitlines().index(header) + 1:]
               if re.search(r"\d", line))
    cols = [c for c in re.split(r"[│┃|]", header) if c.strip()]
    values = [c.strip() for c in re.split(r"[│┃|]", row) if c.strip()]
    summary = dict(zip([c.strip() for c in cols], values))
    assert summary["Added"] == "0" and summary["Embedded"] == "0" and summary["Deleted"] == "0"
    assert int(summary["Unchanged"]) == int(summary["Chunks"]) > 100

    found = cli(["search", "maximum balance for a payment extension", "--kind", "page", "--project", "ER",
                 "--limit", "3"], tmp, tmp / "data")
    assert found.returncode == 0, found.stdout + found.stderr
    assert "page:200001#" in found.stdout and "Payment Extension Rules" in found.stdout
    bad = cli(["search", "x", "--kind", "poem"], tmp, tmp / "data")
    assert bad.returncode == 2 and "unknown --kind" in bad.stderr and "Traceback" not in bad.stderr

"""Pytest fixtures for the Jira/Confluence emulator (loaded from tests/conftest.py).

`sandbox`: a SandboxServer seeded from the bundled sample project, once per mode (cloud and
datacenter), with Basic credentials (cloud) or a PAT (datacenter), a small search page size so
that paging is exercised, and faults cleared. Tests that change Jira data get a fresh server.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.atlassian_http import RetryPolicy
from connectors.emulators.atlassian import SandboxServer
from connectors.workspace import SAMPLE_PATH

EMAIL = "qa.lead@example.com"
API_TOKEN = "sandbox-api-token"
PAT = "sandbox-personal-access-token"
FAST_RETRY = RetryPolicy(attempts=4, backoff_s=0.05, max_backoff_s=0.2, max_wait_s=2.0)


@dataclass
class Creds:
    """How the real clients authenticate against this sandbox."""

    email: str | None = None
    api_token: str | None = None
    pat: str | None = None

    def kwargs(self) -> dict[str, str | None]:
        return {"email": self.email, "api_token": self.api_token, "pat": self.pat}


def start_sandbox(mode: str, seed=SAMPLE_PATH, page_size: int = 4) -> tuple[SandboxServer, Creds]:
    server = SandboxServer(seed, mode=mode, email=EMAIL, api_token=API_TOKEN, pat=PAT, max_results=page_size)
    server.start()
    creds = Creds(email=EMAIL, api_token=API_TOKEN) if mode == "cloud" else Creds(pat=PAT)
    return server, creds


@pytest.fixture(params=["cloud", "datacenter"])
def sandbox(request):
    """A fresh emulator per test, in each mode; `sandbox.creds` holds the matching credentials."""
    server, creds = start_sandbox(request.param)
    server.creds = creds  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


# -- helpers shared by the Jira/Confluence/write-back tests ------------------------------------------

def sample_doc() -> dict:
    import json

    return json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


def datacenter_doc() -> dict:
    """The sample as Data Center holds it: stories point at their epic through "Epic Link"
    (customfield_10014), not through a parent."""
    doc = sample_doc()
    for issue in doc["issues"]:
        parent = issue["fields"].pop("parent", None)
        if parent and issue["fields"]["issuetype"]["name"] == "Story":
            issue["fields"]["customfield_10014"] = parent["key"]
    return doc


def source_for(server: SandboxServer, creds: Creds, **kwargs):
    """A JiraSource (with Confluence at the same root, as the sandbox serves both) on `server`."""
    from connectors.confluence_source import ConfluenceSource
    from connectors.jira_source import JiraSource

    conf = ConfluenceSource(server.url, retry=FAST_RETRY, page_size=4, **creds.kwargs())
    return JiraSource(server.url, confluence=conf, retry=FAST_RETRY, page_size=4, **creds.kwargs(), **kwargs)


def writer_on(server: SandboxServer, creds: Creds):
    from connectors.jira_writer import writer_for

    return writer_for(server.url, retry=FAST_RETRY, **creds.kwargs())


def case_set_from_jira(server: SandboxServer, creds: Creds, epic: str, tmp_path, run: str = "r", **options):
    """Read the epic live, generate its cases with the real graph (rules generator), return the CaseSet
    (`options`: more Configuration fields, e.g. story_keys)."""
    from agent.configuration import Configuration
    from agent.generation.template import load_template
    from agent.runner import generate_epic
    from agent.state import case_set
    from connectors.workspace import save_workspace

    options.setdefault("coverage", "all")  # the write-back tests reconcile whole reruns, not gap-mode subsets
    ws = source_for(server, creds).workspace_for_epic(epic)
    path = save_workspace(ws, tmp_path / f"{epic}-{run}.json")
    cfg = Configuration(source=str(path), formats=[], data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                        **options)
    result = generate_epic(epic, cfg)
    return case_set(result.state, cfg, load_template().name)

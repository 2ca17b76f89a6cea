"""`casewright ingest --jira --jql ... --confluence-cql ...`: the same knowledge, read live from the
Jira/Confluence emulator with the real clients, as from the workspace file."""

from __future__ import annotations

import pytest

from agent.knowledge.base import ingest_workspace, open_knowledge_base
from agent.knowledge.config import StoreConfig
from connectors.jira_access import JiraAccess
from connectors.workspace import SAMPLE_PATH, load_workspace
from support.knowledge import shared_encoder
from support.sandbox import API_TOKEN, EMAIL, FAST_RETRY, start_sandbox


@pytest.fixture
def live_jira():
    server, _ = start_sandbox("cloud", page_size=10)
    try:
        yield server, JiraAccess(url=server.url, email=EMAIL, api_token=API_TOKEN, confluence_url=server.url,
                                 confluence_email=EMAIL, confluence_api_token=API_TOKEN, retry=FAST_RETRY)
    finally:
        server.stop()


def test_live_ingest_holds_the_same_knowledge_as_the_workspace_file(live_jira, tmp_path):
    server, access = live_jira
    ws = access.workspace("project = ER", "space = ER")
    sample = load_workspace(SAMPLE_PATH)
    assert {i["key"] for i in ws.issues} == {i["key"] for i in sample.issues}
    assert {str(p["id"]) for p in ws.pages} == {str(p["id"]) for p in sample.pages}
    with open_knowledge_base(StoreConfig(data_dir=str(tmp_path)), embedder=shared_encoder()) as kb:
        live = ingest_workspace(kb, ws)
        assert live.added == live.embedded == live.chunks > 100
        hit = kb.search("maximum balance for a payment extension", kinds=["page_section"], projects=["ER"], limit=1)
        assert hit and hit[0].source_id == "200001" and hit[0].url.startswith(server.url)
        # the file holds the same texts: nothing to embed, only metadata (URLs, dates) to rewrite
        from_file = ingest_workspace(kb, sample)
        assert from_file.embedded == 0 and from_file.added == 0 and from_file.deleted == 0
        assert from_file.chunks == live.chunks

"""The retrieval of the +rag configurations indexes no held-out answer."""

from __future__ import annotations

import pytest

from agent.evaluation.datasets import load_dataset, parse_ids
from connectors.settings import Settings
from support import LAJ


@pytest.mark.xdist_group("eval_laj")
def test_rag_index_holds_no_evaluated_answers(scorer):
    """The +rag knowledge base indexes rules, stories and the training side's approved cases, never
    an evaluated story's approved cases (nor, for LAJ, any reference scenario)."""
    from agent.evaluation.datasets import load_workspace_dataset
    from agent.evaluation.runners import Retriever
    from connectors.knowledge_store import Filters
    from connectors.workspace import SAMPLE_PATH

    full = load_workspace_dataset(SAMPLE_PATH)
    held = full.items[0]
    ds = load_workspace_dataset(SAMPLE_PATH, story_keys=[held.story.key])
    r = Retriever(ds, Settings(), encoder=scorer.encoder)
    try:
        indexed = {s.source_id for s in r.kb.store.manifest(Filters(kinds=["test_case"])).values()}
        train = {c.id for item in full.items[1:] for c in item.reference_cases}
        assert indexed
        assert not indexed & {c.id for c in held.reference_cases}
        assert indexed & train
        assert not [c for c in r.for_story(held.story) if c["kind"] == "test_case"
                    and c["extra"].get("story_key") == held.story.key]
    finally:
        r.close()

    laj = load_dataset(LAJ, ids=parse_ids("26-28"))
    r = Retriever(laj, Settings(), encoder=scorer.encoder)
    try:
        assert r.kb.store.count(Filters(kinds=["test_case"])) == 0
        assert r.kb.store.count(Filters(kinds=["story"])) == 3
        assert not [c for item in laj.items for c in r.for_story(item.story) if c["kind"] == "test_case"]
    finally:
        r.close()


def test_local_rows_wait_as_long_as_the_cpu_server_needs():
    """With the ordinary 120 s timeout, a loaded 2-core box timed out every local answer (512
    tokens through the schema grammar took 2-6 min) and eval reported the row as skipped."""
    from agent.evaluation.runners import LocalServers
    from agent.generation.template import load_template
    from connectors.local_model import REQUEST_TIMEOUT_S

    servers = LocalServers(threads=1)
    try:
        runner = servers.runner("llm", Settings(llm_timeout_s=120.0), load_template())
        client = runner.generator.model               # the ChatOpenAI the row sends its requests with
        assert client.request_timeout >= REQUEST_TIMEOUT_S > 120.0
        assert client.openai_api_base == servers.started[0].base_url
    finally:
        servers.close()

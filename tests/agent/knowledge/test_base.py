"""The knowledge base on both backends (embedded qdrant-edge, qdrant-client local mode): retrieval
quality on the sample project, incremental sync, filters, near-duplicates, payload schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from agent.intake.epic import parse_story
from agent.knowledge.base import KnowledgeBase, ingest_workspace, open_knowledge_base
from agent.knowledge.config import StoreConfig
from agent.knowledge.retrieval import retrieve_for_story, story_query
from connectors.chunking import Chunk
from connectors.knowledge_store import Filters
from connectors.workspace import SAMPLE_PATH, load_workspace, parse_workspace
from support import DATA
from support.knowledge import shared_encoder

EXPECTED = {k: v for k, v in json.loads((DATA / "expected_rule_pages.json")
                                        .read_text()).items() if not k.startswith("_")}
BACKENDS = ["embedded", "server"]
PAYLOAD_FIELDS = {"chunk_id", "kind", "source_id", "project", "epic", "labels", "title", "title_path",
                  "updated", "content_hash", "url", "text"}


class CountingEncoder:
    """The real model, with a count of what it was asked to embed (not a mock: it really encodes)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls = 0
        self.texts = 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="session")
def embedder():
    return shared_encoder()


@pytest.fixture(scope="session")
def sample():
    return load_workspace(SAMPLE_PATH)


def _open(backend: str, path: Path, encoder) -> KnowledgeBase:
    config = StoreConfig(data_dir=str(path))
    client = QdrantClient(":memory:") if backend == "server" else None
    return open_knowledge_base(config, client=client, embedder=encoder)


@pytest.fixture(scope="module", params=BACKENDS)
def ingested(request, tmp_path_factory, embedder, sample):
    kb = _open(request.param, tmp_path_factory.mktemp(f"kb-{request.param}"), embedder)
    summary = ingest_workspace(kb, sample)
    assert summary.added == summary.chunks == summary.embedded > 0
    yield kb
    kb.close()


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path, embedder):
    encoder = CountingEncoder(embedder.inner)  # counts what reaches the real model, no cache between
    kb = _open(request.param, tmp_path, encoder)
    yield kb, encoder
    kb.close()


def _story(ws, key):
    raw = ws.issue(key)
    return parse_story(ws, raw, epic_key=(raw["fields"].get("parent") or {}).get("key"),
                       ac_field_name="Acceptance Criteria", test_issue_type="Test")


# --------------------------------------------------------------------------- retrieval quality

def test_the_governing_rule_page_is_in_the_top_3_for_every_story(ingested, sample):
    assert len(EXPECTED) >= 10
    misses = {}
    for key, page_id in EXPECTED.items():
        story = _story(sample, key)
        found = retrieve_for_story(ingested, story, top_k=3)
        top3 = [h.source_id for h in found.rules[:3]]
        if page_id not in top3:
            misses[key] = (page_id, top3)
        assert all(h.kind == "page_section" for h in found.rules)
        assert all(h.kind == "test_case" for h in found.cases)
    assert not misses, f"governing page not in the top 3: {misses}"


def test_a_plain_hybrid_search_finds_the_rule_and_respects_filters(ingested, sample):
    hits = ingested.search("maximum balance for a payment extension", kinds=["page_section"], projects=["ER"],
                           limit=3)
    assert hits and hits[0].source_id == "200001"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert ingested.search("payment extension", projects=["NOPE"], limit=5) == []
    cases = ingested.search(story_query(_story(sample, "ER-2")), kinds=["test_case"], limit=3)
    assert cases and all(h.kind == "test_case" for h in cases)
    assert cases[0].payload["extra"]["persona"]  # the approved case's style travels with it


def test_every_point_carries_the_payload_schema(ingested):
    for kind in ("story", "criterion", "page_section", "test_case"):
        (hit,) = ingested.search("account", kinds=[kind], limit=1)
        assert PAYLOAD_FIELDS <= set(hit.payload), kind
        assert hit.payload["kind"] == kind and hit.payload["project"] == "ER"
    section = ingested.search("concession card", kinds=["page_section"], limit=1)[0]
    assert section.payload["title_path"][0] == "Concession Rules" and section.url.startswith("https://")


# --------------------------------------------------------------------------- incremental sync

RAISE_CAP = ("200001", "$5,000.00", "$6,500.00")


def _small_workspace(sample, drop_pages=(), edit=None):
    """The sample's pages and two stories with their approved cases: a small corpus."""
    doc = copy.deepcopy(sample.to_dict())
    keep = {"ER-1", "ER-2", "ER-4"}
    keep |= {i["key"] for i in doc["issues"] if i["fields"]["issuetype"]["name"] == "Test"
             and any((l.get("inwardIssue") or l.get("outwardIssue") or {}).get("key") in keep
                     for l in i["fields"].get("issuelinks") or [])}
    doc["issues"] = [i for i in doc["issues"] if i["key"] in keep]
    doc["pages"] = [p for p in doc["pages"] if str(p["id"]) not in drop_pages]
    for page_id, old, new in edit or ():
        for p in doc["pages"]:
            if str(p["id"]) == page_id:
                body = p["body"]["storage"]["value"]
                assert old in body
                p["body"]["storage"]["value"] = body.replace(old, new)
    return parse_workspace(doc, "small")


def test_sync_is_incremental(fresh, sample):
    kb, encoder = fresh
    first = ingest_workspace(kb, _small_workspace(sample))
    assert first.added == first.chunks == first.embedded == encoder.texts > 20
    before = kb.store.manifest()

    again = ingest_workspace(kb, _small_workspace(sample))
    assert (again.added, again.updated, again.deleted, again.embedded) == (0, 0, 0, 0)
    assert again.unchanged == first.chunks
    assert encoder.texts == first.embedded  # the real model was asked for nothing more

    # an edited page: only the section that changed is re-embedded and replaced
    edited = ingest_workspace(kb, _small_workspace(sample, edit=[RAISE_CAP]))
    assert (edited.added, edited.updated, edited.deleted, edited.embedded) == (0, 1, 0, 1)
    after = kb.store.manifest()
    changed = {cid for cid in before if before[cid].content_hash != after[cid].content_hash}
    assert changed == {"page:200001#eligibility"}
    hit = kb.search("balance no more than $6,500.00 for a payment extension", kinds=["page_section"], limit=1)[0]
    assert hit.chunk_id == "page:200001#eligibility" and "$6,500.00" in hit.text and "$5,000.00" not in hit.text

    # a deleted page: all of its chunks go, nothing is embedded
    texts = encoder.texts
    n_concession = sum(1 for s in after.values() if s.source_id == "200002")
    assert n_concession >= 2
    dropped = ingest_workspace(kb, _small_workspace(sample, drop_pages={"200002"},
                                                    edit=[RAISE_CAP]))
    assert dropped.deleted == n_concession and dropped.embedded == 0 and encoder.texts == texts
    assert kb.store.count(Filters(source_ids=["200002"])) == 0
    assert all(h.source_id != "200002" for h in kb.search("concession card", kinds=["page_section"], limit=10))

    # a section removed from a page goes; the rest of the page stays
    shorter = _small_workspace(sample, drop_pages={"200002"}, edit=[RAISE_CAP, (
        "200001", "<h2>Customer communications</h2>", "<p>Communications are below.</p>")])
    result = ingest_workspace(kb, shorter)
    # the old section goes; the section before it absorbs its text and is the only one re-embedded
    assert (result.deleted, result.updated, result.embedded) == (1, 1, 1)
    ids = set(kb.store.manifest(Filters(source_ids=["200001"])))
    assert "page:200001#customer-communications" not in ids and "page:200001#eligibility" in ids


def test_metadata_only_changes_rewrite_the_payload_without_embedding(fresh):
    kb, encoder = fresh
    base = dict(kind="page_section", source_id="1", title="Rules > A", text="Balance at least $50.00.",
                title_path=("Rules", "A"), project="ER", url="https://wiki/1")
    kb.sync([Chunk(id="page:1#a", labels=("old",), **base)], prune_projects=["ER"])
    texts = encoder.texts
    summary = kb.sync([Chunk(id="page:1#a", labels=("new",), **base)], prune_projects=["ER"])
    assert (summary.updated, summary.embedded, encoder.texts) == (1, 0, texts)
    (hit,) = kb.search("balance", limit=1)
    assert hit.payload["labels"] == ["new"]


def test_near_duplicate_hits_are_dropped(fresh):
    kb, _ = fresh
    text = "A payment extension can move the due date by at most 21 calendar days for a standard customer."
    chunks = [
        Chunk(id="page:1#a", kind="page_section", source_id="1", title="Rules > A", text=text, project="ER"),
        Chunk(id="page:2#a", kind="page_section", source_id="2", title="Rules > A", text=text, project="ER"),  # a copied page
        Chunk(id="page:3#a", kind="page_section", source_id="3", title="Rules > A",
              text=text.replace("21", "twenty-one"), project="ER"),
        Chunk(id="page:4#b", kind="page_section", source_id="4", title="Concessions",
              text="Concession cards must be valid for at least 30 days.", project="ER"),
    ]
    kb.sync(chunks, prune_projects=["ER"])
    hits = kb.search("how long can a payment extension be", kinds=["page_section"], limit=4)
    ids = [h.chunk_id for h in hits]
    assert len({"page:1#a", "page:2#a", "page:3#a"} & set(ids)) == 1, ids
    assert "page:4#b" in ids
    assert len(kb.store.search(kb.embedder.encode(["payment extension"])[0], kb.bm25.query("payment extension"),
                               limit=4, duplicate_cosine=1.01)) == 3  # 1 and 2 still share a content hash


def test_a_qdrant_server_too_old_for_parametrised_rrf_is_one_clear_error():
    """A server before 1.16 answers the `{"rrf": {"k": ...}}` query with 400 (no such server can run
    here, so the in-process client is given that answer): one StoreError saying to upgrade."""
    import numpy as np
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    from connectors.knowledge_store import ServerStore, StoreError

    class OldServer(QdrantClient):
        def query_points(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise UnexpectedResponse(400, "Bad Request",
                                     b'{"status":{"error":"Format error in JSON body: unknown variant `rrf`"}}', {})

    store = ServerStore(4, collection="old", client=OldServer(":memory:"))
    with pytest.raises(StoreError, match="1.16 or newer") as err:
        store.search(np.ones(4, dtype=np.float32), ([1], [1.0]), limit=3)
    assert "\n" not in str(err.value)

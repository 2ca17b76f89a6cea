"""Structure-respecting chunks: stories, each criterion, page sections by heading, cases whole."""

from __future__ import annotations

from collections import Counter

from agent.knowledge.sources import workspace_chunks
from connectors.chunking import Chunk, approved_case_chunk, criterion_chunks, page_chunks, split_sections, story_chunk
from connectors.workspace import SAMPLE_PATH, load_workspace

PAGE_TEXT = """Intro paragraph about extensions.

## Eligibility
- Balance at least $50.00.
- At most 2 extensions in 12 months.

## Extension length
Customer | Maximum | Who
Standard | 21 calendar days | Agent
Hardship | 35 calendar days | Agent

### Approval above $2,500
Team Leader approves within 1 business day.

```
## not a heading inside code
```
"""


def _page(text=PAGE_TEXT, pid="77", title="Payment Extension Rules"):
    return {"id": pid, "title": title, "space": "ER", "labels": ["rules"], "text": text,
            "url": f"https://wiki/pages/{pid}", "updated": "2026-09-01"}


def test_page_is_split_by_heading_with_the_heading_path_kept():
    chunks = page_chunks(_page())
    assert [c.id for c in chunks] == ["page:77#intro", "page:77#eligibility", "page:77#extension-length",
                                      "page:77#extension-length-approval-above-2-500"]
    approval = chunks[-1]
    assert approval.title_path == ("Payment Extension Rules", "Extension length", "Approval above $2,500")
    assert approval.embed_text.startswith("Payment Extension Rules > Extension length > Approval above $2,500\n")
    assert "## not a heading inside code" in approval.text  # fenced code is not split
    assert all(c.kind == "page_section" and c.source_id == "77" and c.project == "ER" for c in chunks)


def test_tables_stay_whole_and_long_sections_split_between_paragraphs():
    rows = "\n".join(f"Row {n} | {n} days | Agent" for n in range(60))
    paragraphs = "\n\n".join(f"Paragraph {n} " + "word " * 60 for n in range(6))
    text = f"## Big\nName | Limit | Who\n{rows}\n\n{paragraphs}"
    chunks = page_chunks(_page(text), max_chars=600)
    table_chunks = [c for c in chunks if "Row 0 |" in c.text]
    assert len(table_chunks) == 1 and "Row 59 | 59 days" in table_chunks[0].text  # the whole table, once
    assert len(table_chunks[0].text) > 600  # kept whole although larger than the limit
    assert len(chunks) > 2 and all(c.id.startswith("page:77#big~") for c in chunks)
    for c in chunks:
        if c is not table_chunks[0]:
            assert len(c.text) <= 600 and not c.text.startswith("word")  # split at paragraph starts
    assert "".join(c.text for c in chunks).count("Paragraph") == 6


def test_section_ids_are_stable_when_a_section_is_added_before_them():
    before = {c.id: c.content_hash for c in page_chunks(_page())}
    edited = PAGE_TEXT.replace("## Eligibility", "## Scope\nNew words here.\n\n## Eligibility")
    after = {c.id: c.content_hash for c in page_chunks(_page(edited))}
    assert set(after) - set(before) == {"page:77#scope"}
    assert all(after[k] == v for k, v in before.items())


def test_storage_xhtml_is_converted_when_no_text_is_given():
    raw = {"id": "9", "title": "T", "space": {"key": "ER"},
           "body": {"storage": {"value": "<h2>Limits</h2><p>Up to <strong>21 days</strong>.</p>"}}}
    (chunk,) = page_chunks(raw)
    assert chunk.id == "page:9#limits" and chunk.text == "Up to 21 days." and chunk.project == "ER"


def test_story_criteria_and_cases_each_make_their_own_chunks():
    story = {"key": "ER-2", "summary": "Grant an extension", "description": "As an agent...", "project": "ER",
             "epic_key": "ER-1", "labels": ["payments"]}
    s = story_chunk(story)
    assert (s.id, s.kind, s.text) == ("ER-2", "story", "Grant an extension\n\nAs an agent...")
    crits = criterion_chunks(story, [{"id": "ER-2/AC-1", "text": "Up to 21 days", "section": "Rules"},
                                     {"id": "ER-2/AC-2", "text": "  ", "section": ""}])
    assert [c.id for c in crits] == ["ER-2/AC-1"] and crits[0].source_id == "ER-2" and crits[0].epic == "ER-1"
    case = approved_case_chunk({"id": "ER-19", "title": "Verify X", "persona": "Agent", "preconditions": ["A"],
                                "test_data": {"Account": "1"}, "story_key": "ER-2",
                                "steps": [{"action": "Open", "data": "1", "expected": "Opens"}]}, project="ER")
    assert case.kind == "test_case" and "1. Open [1] -> Opens" in case.text and case.extra["persona"] == "Agent"
    assert Chunk.from_payload(case.payload()) == case


def test_content_hash_tracks_the_embedded_text_and_meta_hash_the_rest():
    a = story_chunk({"key": "ER-2", "summary": "S", "description": "D", "labels": ["x"]})
    b = story_chunk({"key": "ER-2", "summary": "S", "description": "D", "labels": ["y"]})
    c = story_chunk({"key": "ER-2", "summary": "S", "description": "D2", "labels": ["x"]})
    assert a.content_hash == b.content_hash and a.meta_hash != b.meta_hash
    assert a.content_hash != c.content_hash


def test_the_sample_workspace_yields_every_kind():
    ws = load_workspace(SAMPLE_PATH)
    chunks = workspace_chunks(ws)
    kinds = Counter(c.kind for c in chunks)
    assert kinds["story"] >= 12 and kinds["criterion"] > kinds["story"]
    assert kinds["page_section"] >= 6 * 2 and kinds["test_case"] >= 20
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    assert {c.source_id for c in chunks if c.kind == "page_section"} == {str(p["id"]) for p in ws.pages}
    # every page section keeps the page title at the head of its path
    titles = {str(p["id"]): p["title"] for p in ws.pages}
    assert all(c.title_path[0] == titles[c.source_id] for c in chunks if c.kind == "page_section")
    assert split_sections("no headings at all") == [((), ["no headings at all"])]

"""Retrieved context for a story's prompt never holds the story's own answer."""

from __future__ import annotations

from agent.finetune.context import without_own_cases


def test_retrieved_context_never_holds_the_answer():
    chunks = [
        {"id": "p1", "kind": "page_section", "source_id": "200001", "text": "rule"},
        {"id": "ER-19", "kind": "test_case", "source_id": "ER-19", "text": "own case", "extra": {"story_key": "ER-2"}},
        {"id": "ER-30", "kind": "test_case", "source_id": "ER-30", "text": "other", "extra": {"story_key": "ER-3"}},
        {"id": "ER-2", "kind": "story", "source_id": "ER-2", "text": "itself"},
    ]
    assert [c["id"] for c in without_own_cases(chunks, "ER-2")] == ["p1", "ER-30"]

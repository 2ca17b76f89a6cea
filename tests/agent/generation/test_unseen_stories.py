"""Made-up REST and non-REST stories the generator was not tuned on (tests/agent/generation/data/
unseen_stories.json: bullets, Given/When/Then, numbered lists, "AC1:" labels, tables as text, HTML
lists; limits in ms, seconds, minutes, hours, days, KB/MB, %, per-minute rates, money and counts).
Their rendered features are valid Gherkin and show none of the style defects `casewright eval`
counts (agent/evaluation/style.py), and their limits are probed in their own units."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.evaluation.gherkin import gherkin_valid
from agent.evaluation.style import STYLE_DEFECTS, style_counts
from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.criteria import extract
from agent.models import CaseSet, Epic, Story
from agent.renderers.gherkin import story_feature

_STORIES = json.loads((Path(__file__).parent / "data" / "unseen_stories.json").read_text())


def _generated(raw: dict) -> tuple[Story, list, str]:
    criteria, parameters, endpoint = extract(raw["key"], raw["description"], None)
    story = Story(key=raw["key"], summary=raw["summary"], description=raw["description"], criteria=criteria,
                  parameters=parameters, method=endpoint[0] if endpoint else None,
                  endpoint=endpoint[1] if endpoint else None)
    cases = generate_for_story(story, load_template(), []).cases
    feature = story_feature(CaseSet(epic=Epic(key="E", summary="e"), stories=[story]), story, cases)
    return story, cases, feature


def test_the_story_file_is_varied():
    assert 15 <= len(_STORIES) <= 25
    text = "\n".join(s["description"] for s in _STORIES)
    for written in (" ms ", "MB", "KB", "%", "per minute", "$", "at least", "no more than", "between", "AC1:",
                    "Given ", "<li>", "| ", "GET /", "POST /", "DELETE /"):
        assert written in text, written


@pytest.mark.parametrize("raw", _STORIES, ids=[s["key"] for s in _STORIES])
def test_an_unseen_story_gives_valid_gherkin_with_no_style_defect(raw):
    story, cases, feature = _generated(raw)
    assert story.criteria and cases
    assert gherkin_valid(feature)
    counts = style_counts(feature)
    assert counts.scenarios == len(cases)
    assert counts.defective == 0, {k: v for k, v in counts.counts.items() if v}
    assert set(counts.counts) == set(STYLE_DEFECTS)


@pytest.mark.parametrize("raw", _STORIES, ids=[s["key"] for s in _STORIES])
def test_titles_are_one_sentence_after_the_endpoint(raw):
    story, cases, _ = _generated(raw)
    for case in cases:
        title = case.title
        assert not re.search(r"^Verify that [A-Z][a-z]+ ", title), title  # 'Verify that Transfers above ...'
        if story.endpoint:
            after = title.split(f"{story.method} {story.endpoint}", 1)
            if len(after) == 2 and after[1].strip():
                word = after[1].split()[0]
                assert word.islower() or not word[:1].isalpha(), title
                assert word not in {"the", "a", "an"}, title


def _boundary_titles(key: str) -> list[str]:
    raw = next(s for s in _STORIES if s["key"] == key)
    return [c.title for c in _generated(raw)[1] if c.kind == "boundary"]


@pytest.mark.parametrize("key, inside, outside", [
    ("UN-1", "with 250 ms", "with 251 ms"),  # milliseconds stay milliseconds
    ("UN-2", "with 5 MB", "with 6 MB"),  # a size keeps its symbol
    ("UN-3", "with 120 requests per minute", "with 121 requests per minute"),  # a rate, not 'a 121st request'
    ("UN-4", "with 12 characters", "with 65 characters"),  # both ends of a range
    ("UN-6", "with 50,000 rows per file", "with 50,001 rows per file"),  # written as the story writes it
    ("UN-7", "with pageSize 1", "with pageSize 101"),  # a parameter's bare value is named
    ("UN-10", "with 99.9%", "with 99.89%"),  # a share
    ("UN-16", "with 256 KB", "with 257 KB"),
    ("UN-17", "with 15 minutes", "with 5 hours"),
])
def test_limits_are_probed_just_inside_and_outside_in_their_own_unit(key, inside, outside):
    titles = _boundary_titles(key)
    assert any(inside in t for t in titles) and any(outside in t for t in titles), titles


def test_a_table_row_without_condition_or_result_columns_reads_as_its_cells():
    titles = [c.title for c in _generated(next(s for s in _STORIES if s["key"] == "UN-9"))[1]]
    assert "Verify that idle session ends after 15 minutes" in titles, titles
    assert not any("Rule:" in t or "Limit:" in t for t in titles), titles

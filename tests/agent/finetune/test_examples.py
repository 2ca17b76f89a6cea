"""Fine-tuning examples on the bundled sample project: split by story, dedupe, the Gherkin target."""

from __future__ import annotations

import random

from agent.evaluation.gherkin import gherkin_valid
from agent.finetune.context import linked_pages_context
from agent.finetune.examples import build_example, build_examples, dedupe, split_by_story
from agent.finetune.export import export_examples


def test_split_is_deterministic_and_order_independent(sample):
    _, stories, template = sample
    examples, _ = build_examples(stories, template=template)
    a = split_by_story(examples, 0.3, seed=3)
    shuffled = list(examples)
    random.Random(1).shuffle(shuffled)
    b = split_by_story(shuffled, 0.3, seed=3)
    assert {e.story_key for e in a[1]} == {e.story_key for e in b[1]}
    assert {e.story_key for e in a[0]} == {e.story_key for e in b[0]}


def test_duplicates_are_removed(sample, tmp_path):
    _, stories, template = sample
    examples, _ = build_examples(stories, template=template)
    doubled = examples + [examples[0], examples[1]]
    kept, removed = dedupe(doubled)
    assert len(kept) == len(examples) and len(removed) == 2
    report = export_examples(doubled, tmp_path / "d")
    assert report.manifest["duplicates_removed"] == 2
    total = report.manifest["splits"]["train"]["examples"] + report.manifest["splits"]["validation"]["examples"]
    assert total == len(examples)


def test_gherkin_target_parses_and_context_carries_rules(sample):
    ws, stories, template = sample
    story = next(s for s in stories if s.approved_cases and s.linked_pages)
    provide = linked_pages_context(ws, stories)
    rules, examples = provide(story)
    assert rules, "the story links a rule page"
    assert examples == []  # as in production: no approved cases of the story itself in its prompt
    ex = build_example(story, template=template, target="gherkin", context=(rules, examples))
    assert gherkin_valid(ex.messages[2]["content"])
    assert 'Answer with {"cases"' not in ex.messages[1]["content"]
    assert "Gherkin feature" in ex.messages[1]["content"].splitlines()[-1]
    assert "You answer only with JSON" not in ex.messages[0]["content"]
    first_words = " ".join(rules[0][1].split()[:6])
    assert first_words[:40] in " ".join(ex.messages[1]["content"].split())

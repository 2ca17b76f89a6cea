"""Accuracy of the test -> criterion mapping (agent/review/mapping.py): stories whose existing tests
are known to verify given criteria, and precision and recall of the links the mapping finds.

- LAJ layout: each ticket's reference scenarios are its existing tests; which criteria each
  verifies comes from a hand-labelled file ({"links": {"LAJ-1-REF-01": ["LAJ-1/AC-1", ...]}});
- a workspace file: each story's approved cases are its existing tests, with the criterion ids
  their Traceability names as the answer; the ids are removed from the tests, so the mapping must
  find the links by similarity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.evaluation.datasets import load_laj
from agent.finetune.workspace import stories_from_workspace
from agent.intake.linked_tests import case_text
from agent.models import ExistingTest, Story
from connectors.workspace import load_workspace

Pair = tuple[str, str]
"""(test key, criterion id)"""


@dataclass
class LinkScore:
    predicted: int
    expected: int
    true_positive: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_links(predicted: Iterable[Pair], expected: Iterable[Pair]) -> LinkScore:
    pred, gold = set(predicted), set(expected)
    return LinkScore(predicted=len(pred), expected=len(gold), true_positive=len(pred & gold))


def laj_labelled(folder: str | Path, labels: str | Path) -> tuple[list[Story], set[Pair]]:
    """The labelled LAJ tickets with their scenarios as existing tests, and the labelled links."""
    links: dict[str, list[str]] = json.loads(Path(labels).read_text(encoding="utf-8"))["links"]
    ids = sorted({int(key.split("-")[1]) for key in links})
    stories = []
    for item in load_laj(folder, ids).items:
        tests = [ExistingTest(key=c.id, title=c.title, text=case_text(c)) for c in item.reference_cases
                 if c.id in links]
        stories.append(item.story.model_copy(update={"existing_tests": tests, "approved_cases": []}))
    return stories, {(test, cid) for test, cids in links.items() for cid in cids}


def workspace_traced(path: str | Path) -> tuple[list[Story], set[Pair]]:
    """A workspace's stories with their approved cases as existing tests that name no criteria, and
    the links their Traceability named (within the case's own story)."""
    stories, gold = [], set()
    for story in stories_from_workspace(load_workspace(path)):
        tests = []
        for case in story.approved_cases:
            named = [cid for cid in case.criterion_ids if cid.startswith(story.key + "/")]
            if not named:
                continue
            tests.append(ExistingTest(key=case.id, title=case.title, text=case_text(case)))
            gold |= {(case.id, cid) for cid in named}
        if tests:
            stories.append(story.model_copy(update={"existing_tests": tests, "approved_cases": []}))
    return stories, gold

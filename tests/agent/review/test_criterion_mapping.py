"""The mapping of existing tests to criteria: explicit references, fingerprints, similarity, and its
accuracy on the hand-labelled LAJ links (data/laj_links.json)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.evaluation.mapping import laj_labelled, score_links
from agent.models import AcceptanceCriterion, ExistingTest, Story
from agent.review.mapping import Mapper
from connectors.embeddings import get_embedder
from tests.support import LAJ

LABELS = Path(__file__).parent / "data" / "laj_links.json"


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(encoder=get_embedder())


def _story(tests: list[ExistingTest]) -> Story:
    texts = ["If successful, returns a status code of 200 (successful operation).",
             "Respond with HTTP status code 400 if an invalid account ID is supplied.",
             "Respond with HTTP status code 404 if the account is not found."]
    return Story(key="API-1", summary="GET /accounts/{id}/tags",
                 criteria=[AcceptanceCriterion(id=f"API-1/AC-{n + 1}", story_key="API-1", text=t)
                           for n, t in enumerate(texts)], existing_tests=tests)


def test_named_criteria_decide_and_unknown_ids_are_no_links(mapper: Mapper) -> None:
    test = ExistingTest(key="T-1", title="Account not found", text="GET an unknown id -> 404",
                        criterion_ids=["API-1/AC-1", "API-1/AC-9"])
    links = mapper.map_stories([_story([test])])["API-1"]
    assert [(lk.criterion_id, lk.how) for lk in links] == [("API-1/AC-1", "reference")]


def test_fingerprint_texts_map_casewright_tests(mapper: Mapper) -> None:
    test = ExistingTest(key="T-2", title="x", own=True, fingerprint_criteria=[
        "Respond with HTTP status code 400  if an invalid account ID is supplied.", "a criterion since removed"])
    links = mapper.map_stories([_story([test])])["API-1"]
    assert [(lk.criterion_id, lk.how) for lk in links] == [("API-1/AC-2", "fingerprint")]


def test_similarity_needs_the_criterion_number_and_condition(mapper: Mapper) -> None:
    tests = [ExistingTest(key="T-3", title="Unknown account", text="GET tags of an account that does not exist -> "
                          "the response status is 404 and the body says account not found"),
             ExistingTest(key="T-4", title="Malformed account id", text="GET tags with accountId 'abc' -> "
                          "the response status is 400, invalid account id"),
             ExistingTest(key="T-5", title="Missing token", text="GET tags without a token -> status 401")]
    links = mapper.map_stories([_story(tests)])["API-1"]
    assert {(lk.test_key, lk.criterion_id) for lk in links} == {("T-3", "API-1/AC-3"), ("T-4", "API-1/AC-2")}
    assert all(lk.how == "similarity" for lk in links)


def test_a_judge_decides_the_borderline_pairs(mapper: Mapper) -> None:
    asked = []

    def judge(test: ExistingTest, criterion: AcceptanceCriterion, score: float) -> bool:
        asked.append((test.key, criterion.id))
        return True

    judged = Mapper(encoder=mapper.encoder, threshold=mapper.threshold, judge=judge)
    test = ExistingTest(key="T-6", title="Tags are listed", text="GET tags -> 200")
    links = judged.map_stories([_story([test])])["API-1"]
    assert asked == [(lk.test_key, lk.criterion_id) for lk in links if lk.how == "judge"]


def test_laj_labelled_links_precision_and_recall(mapper: Mapper) -> None:
    stories, gold = laj_labelled(LAJ, LABELS)
    assert len(gold) >= 100
    links = mapper.map_stories(stories)
    score = score_links({(lk.test_key, lk.criterion_id) for ls in links.values() for lk in ls}, gold)
    assert score.precision >= 0.8, score
    assert score.recall >= 0.75, score

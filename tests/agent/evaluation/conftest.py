"""The similarity scorer the evaluation tests share (the packaged sentence-embedding model)."""

from __future__ import annotations

import pytest

from agent.evaluation.metrics import SimilarityScorer


@pytest.fixture(scope="module")
def scorer():
    return SimilarityScorer()

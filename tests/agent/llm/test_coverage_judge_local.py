"""The coverage judge against the REAL local model server (llama.cpp serving the packaged
SmolLM2-135M): for two borderline pairs the judge is asked, and its answer, whatever it is, is what
decides each link (how="judge" when it says yes, no link when it says no)."""

from __future__ import annotations

import pytest

from agent.evaluation.mapping import workspace_traced
from agent.generation.template import load_template
from agent.knowledge.config import StoreConfig
from agent.llm.generator import generator_for
from agent.llm.judge import ModelJudge
from agent.review.mapping import Mapper
from connectors.embeddings import get_embedder
from connectors.local_model import MODEL_ALIAS
from connectors.workspace import SAMPLE_PATH
from support.local_model import llm_options, start_local_model

pytestmark = pytest.mark.xdist_group("local_model")


@pytest.fixture(scope="module")
def server():
    running = start_local_model()
    try:
        yield running
    finally:
        running.stop()


def test_the_local_model_decides_the_borderline_pairs(server):
    story = next(s for s in workspace_traced(SAMPLE_PATH)[0] if s.key == "ER-17")
    story = story.model_copy(update={"existing_tests": [t for t in story.existing_tests if t.key == "ER-39"]})
    encoder = get_embedder(StoreConfig().embedding_model)
    judge = ModelJudge.of(generator_for(f"openai-compatible:{MODEL_ALIAS}", llm_options(server, max_tokens=128),
                                        load_template(None)))
    links = Mapper(encoder=encoder, judge=judge).map_stories([story])["ER-17"]
    assert len(judge.judgements) == 2  # ER-39 against ER-17/AC-3 and AC-4: both within the margin
    assert all(j.verifies is not None for j in judge.judgements), judge.judgements  # the grammar keeps it valid
    assert judge.ledger.usage["map_tests"]["calls"] >= 2
    judged = {(j.test_key, j.criterion_id) for j in judge.judgements}
    yes = {(j.test_key, j.criterion_id) for j in judge.judgements if j.verifies}
    assert {(lk.test_key, lk.criterion_id) for lk in links if lk.how == "judge"} == yes
    assert not [lk for lk in links if (lk.test_key, lk.criterion_id) in judged and lk.how != "judge"]

"""Evaluation input that cannot be read is a clear error."""

from __future__ import annotations

import pytest

from agent.evaluation.datasets import load_dataset
from agent.evaluation.evaluate import parse_configs
from connectors.errors import CasewrightError
from support import LAJ


def test_bad_eval_input_is_a_clear_error(tmp_path):
    with pytest.raises(CasewrightError, match="unknown configuration"):
        parse_configs("rules,magic")
    with pytest.raises(CasewrightError, match="not found"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(CasewrightError, match="tickets.csv"):
        load_dataset(tmp_path)
    with pytest.raises(CasewrightError, match="not in"):
        load_dataset(LAJ, ids=[999])

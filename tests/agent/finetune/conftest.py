"""The bundled sample project the fine-tuning tests read: its workspace, stories and template."""

from __future__ import annotations

import pytest

from agent.finetune.examples import template_text
from agent.finetune.workspace import stories_from_workspace
from agent.generation.template import load_template
from connectors.workspace import SAMPLE_PATH, load_workspace


@pytest.fixture(scope="module")
def sample():
    ws = load_workspace(SAMPLE_PATH)
    stories = stories_from_workspace(ws)
    return ws, stories, template_text(load_template())

"""The CLI's command groups, one module each, every one exposing `register(app)`.

They import the settings (pydantic) and the heavy stacks (the graph, Celery, the embedding model)
inside the commands that use them, so that `casewright --help` and the light commands start fast;
tests/cli/test_startup.py checks it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.settings import Settings


def get_settings() -> "Settings":
    """connectors.settings.get_settings, imported on first use (pydantic costs ~0.25 s to import)."""
    from connectors.settings import get_settings as load

    return load()

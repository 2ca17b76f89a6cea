"""What the tests share: where things are, and helpers for the emulators, the services, the
knowledge base and fake chat models (one module each)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project's root."""
SHARED = ROOT.parent / "shared"
"""The shared material beside the project (the LAJ development set, the Jira OpenAPI document)."""
LAJ = SHARED / "data" / "laj-gherkin-dev"
DATA = Path(__file__).parent / "data"

"""What a run needs besides its state: the configuration (plain data, saved with the run) and
the services (connections and secrets, passed in by whoever starts the run, never saved).

The graph receives a RunContext as LangGraph's run context (`context_schema`); every node reads
it from `runtime.context`. Nothing in the agent reads the environment or a module-level global:
the CLI and the workers build both halves from the settings (`Services.from_settings`,
`Configuration.from_settings`), tests and embedding applications build them directly.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from agent.configuration import Configuration
from agent.generation.template import HouseTemplate, load_template
from agent.knowledge.config import StoreConfig
from agent.llm.generator import LLMGenerator, generator_for
from agent.llm.provider import ProviderKeys
from connectors.case_targets import CaseTargets
from connectors.errors import CasewrightError
from connectors.jira_access import JiraAccess


@dataclass(frozen=True)
class Services:
    """Connections and secrets of a run."""

    jira: JiraAccess | None = None
    """Live Jira and Confluence (source `jira`, write-back); None when JIRA_URL is unset."""
    store: StoreConfig = field(default_factory=StoreConfig)
    """The knowledge base; its data directory is the run's own (Configuration.data_dir)."""
    keys: ProviderKeys = field(default_factory=ProviderKeys)
    """Model providers' API keys."""
    targets: CaseTargets = field(default_factory=CaseTargets)
    """Xray, Zephyr Scale and TestRail (write-back to a test-management tool)."""
    chat_model: Any = None
    """A ready langchain chat model to generate with, instead of building one from
    Configuration.model (applications that bring their own, tests)."""
    embedder: Any = None
    """A ready text encoder for retrieval, instead of loading the configured model."""

    @classmethod
    def from_settings(cls, settings: Any) -> "Services":
        return cls(jira=JiraAccess.from_settings(settings) if settings.jira_url else None,
                   store=StoreConfig.from_settings(settings), keys=ProviderKeys.from_settings(settings),
                   targets=CaseTargets.from_settings(settings))


class RunContext:
    """The run context the graph's nodes receive: configuration, services, and what is derived
    from them once per run (the house template, the model generator)."""

    def __init__(self, config: Configuration, services: Services | None = None, *, story_slots: int = 0) -> None:
        self.config = config
        self.services = services or Services()
        self._slots = threading.BoundedSemaphore(story_slots) if story_slots > 0 else None

    def story_slot(self) -> AbstractContextManager[Any]:
        """Held by a generate or revise branch while it works: at most `story_slots` (the run's
        concurrency) at once, whatever else runs beside them in the same step (the plan)."""
        return self._slots if self._slots is not None else nullcontext()

    @cached_property
    def template(self) -> HouseTemplate:
        return load_template(self.config.template_path)

    @cached_property
    def generator(self) -> LLMGenerator | None:
        """The LLM generator (agent/llm/generator.py) for the configured model; None for `rules`."""
        return generator_for(self.config.model, self.config.llm, self.template, keys=self.services.keys,
                             chat_model=self.services.chat_model)

    @property
    def store(self) -> StoreConfig:
        return replace(self.services.store, data_dir=self.config.data_dir)

    def jira(self) -> JiraAccess:
        if self.services.jira is None:
            raise CasewrightError("JIRA_URL is not set; set it (and JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT) "
                                  "to read or write live Jira, or use --source FILE")
        return self.services.jira

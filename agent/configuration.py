"""Run configuration: what a graph run reads from `config["configurable"]`.

Everything here is plain data so that a checkpointed run can be resumed in another process
with the same configuration."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from langchain_core.runnables import RunnableConfig


@dataclass(kw_only=True)
class Configuration:
    source: str = "sample"
    """Where stories come from: a workspace file path, 'sample' (the bundled project) or 'jira'."""

    template_path: str | None = None
    """House template YAML; the bundled sample when None."""

    data_dir: str = ".casewright"
    ac_field_name: str = "Acceptance Criteria"
    test_issue_type: str = "Test"
    story_keys: list[str] | None = None
    """Restrict the run to these stories of the epic (None: all)."""

    model: str = "rules"
    """rules (deterministic) or provider:model."""

    formats: list[str] = field(default_factory=lambda: ["md", "json"])
    out_dir: str = "out"
    write_back: str = "none"
    dry_run: bool = False
    review: bool = False
    """Stop for a person's approval before writing back."""

    max_revise_rounds: int = 2
    llm: dict[str, Any] = field(default_factory=dict)
    """Model options (agent/llm.py LLM_OPTIONS: base URL, temperature, max tokens, timeout, retries,
    structured-output method, prices); missing ones take their defaults."""
    llm_unavailable: str = "fallback"
    """When the model API stays unavailable for a story: "fallback" (the rules write its cases, with
    an `llm-unavailable` finding) or "raise" (the run stops with LLMUnavailable; a background job
    retries it later from the checkpoint)."""
    fail_at: str | None = None
    """Test hook: 'node' or 'node:STORY' raises once in that node, to exercise resume."""

    @classmethod
    def from_runnable_config(cls, config: RunnableConfig | None = None) -> "Configuration":
        configurable = (config or {}).get("configurable") or {}
        names = {f.name for f in fields(cls) if f.init}
        return cls(**{k: v for k, v in configurable.items() if k in names})

    def as_configurable(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

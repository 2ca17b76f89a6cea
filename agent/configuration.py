"""What a run is asked to do: plain data, saved with the run record so that a run can be resumed
in another process with the same options.

The connections and secrets a run uses (Jira, the knowledge store, model keys) are not here:
they travel in the run's `Services` (agent/context.py) and are never written to disk.
Both the CLI and the workers build a run with `Configuration.from_settings`, so the same
settings give the same run on both paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from connectors.errors import CasewrightError

FORMATS = ("md", "csv", "feature", "xray", "json")
"""Output formats, in the order `casewright demo` writes them (agent/renderers)."""

TOOL_WRITE_BACK_MODES = ("xray", "zephyr", "testrail")
"""Write-back to a test-management tool through its API (agent/writeback/tools.py)."""

WRITE_BACK_MODES = ("issues", "subtasks", "comment", *TOOL_WRITE_BACK_MODES, "none")
"""Where the cases go: Jira issues, sub-tasks or comments (agent/writeback/jira.py), a
test-management tool, or nowhere."""

COVERAGE_MODES = ("gaps", "all")
"""gaps: generate only what a story's existing tests leave uncovered (docs/coverage.md); all: every case."""

SOURCES = ("sample", "jira")
"""Named sources besides a workspace file path."""

LLM_OPTIONS: dict[str, Any] = {
    "model_base_url": None,
    "temperature": 0.2,
    "max_tokens": 4096,
    "llm_timeout_s": 120.0,
    "llm_retries": 2,
    "structured_output": "auto",
    "price_input_per_mtok": None,
    "price_output_per_mtok": None,
    "model_context_tokens": None,
    "requests_per_minute": None,
    "tokens_per_minute": None,
    "criteria_per_call": 40,
}
"""The model options a run carries (names as in connectors.settings), with their defaults."""


def check_formats(formats: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate and de-duplicate formats ('md,csv' or ['md', 'csv']), keeping their order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats or [])
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise CasewrightError(f"formats must be names such as {', '.join(FORMATS)}; got {item!r}")
        fmt = item.strip().lower()
        if not fmt:
            continue
        if fmt not in FORMATS:
            raise CasewrightError(f"unknown format {item.strip()!r}; choose from {', '.join(FORMATS)}")
        if fmt not in chosen:
            chosen.append(fmt)
    if not chosen:
        raise CasewrightError(f"no output format given; choose from {', '.join(FORMATS)}")
    return chosen


def check_write_back(mode: str, dry_run: bool = False) -> str:
    if mode not in WRITE_BACK_MODES:
        raise CasewrightError(f"unknown write-back mode {mode!r}; choose from {', '.join(WRITE_BACK_MODES)}")
    if dry_run and mode == "none":
        raise CasewrightError("a dry run plans a write-back: choose a write-back mode other than none")
    return mode


class InjectedFailure(RuntimeError):
    """Raised where `Configuration.fail_at` says, to exercise crash and resume."""


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
    coverage: str | None = None
    """gaps or all (COVERAGE_MODES); None: the house template's `coverage`."""
    coverage_judge: bool | None = None
    """With a model: let it decide the mapping's borderline pairs (agent/llm/judge.py); None: the
    house template's `coverage_judge`. Without a model there is no judge."""
    llm: dict[str, Any] = field(default_factory=dict)
    """Model options (LLM_OPTIONS); missing ones take their defaults."""
    llm_unavailable: str = "fallback"
    """When the model API stays unavailable for a story: "fallback" (the rules write its cases, with
    an `llm-unavailable` finding) or "raise" (the run stops with LLMUnavailable; a background job
    retries it later from the checkpoint)."""
    fail_at: str | None = None
    """Test hook: 'node' or 'node:STORY' raises once in that node, to exercise resume."""

    @classmethod
    def from_settings(cls, settings: Any, **options: Any) -> "Configuration":
        """The run the settings describe, with the caller's options (source, formats, out_dir,
        write_back, dry_run, review, story_keys, ...) on top. The one way the CLI and the
        workers build a run."""
        base: dict[str, Any] = {
            "template_path": str(settings.template_path) if settings.template_path else None,
            "data_dir": str(settings.data_dir),
            "ac_field_name": settings.ac_field_name,
            "test_issue_type": settings.test_issue_type,
            "model": settings.model,
            "out_dir": str(settings.out_dir),
            "max_revise_rounds": settings.max_revise_rounds,
            "llm": {name: getattr(settings, name) for name in LLM_OPTIONS},
            "fail_at": settings.fail_at,
        }
        base.update({k: v for k, v in options.items() if v is not None})
        return cls(**base)

    @classmethod
    def from_record(cls, saved: dict[str, Any], **override: Any) -> "Configuration":
        """A configuration saved with a run record (unknown keys of older records ignored)."""
        names = {f.name for f in fields(cls) if f.init}
        return cls(**{**{k: v for k, v in saved.items() if k in names}, **override})

    def as_record(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def llm_option(self, name: str) -> Any:
        return self.llm.get(name, LLM_OPTIONS[name])

    def fail_if_asked(self, node: str, story_key: str | None = None) -> None:
        """The `fail_at` test hook: raise InjectedFailure in the named node (and story)."""
        if not self.fail_at:
            return
        where, _, key = self.fail_at.partition(":")
        if where == node and (not key or key == story_key):
            raise InjectedFailure(f"injected failure in {node} {story_key or ''}".strip())

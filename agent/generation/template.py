"""The house template: ids, titles, priorities, personas and labels that make cases look like the
team's own. Loaded from YAML (bundled sample: agent/generation/templates/house.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from string import Formatter
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.generation.phrasing import shorten
from agent.intake.language import language_of
from agent.models import Story, UATCase
from connectors.errors import CasewrightError

BUNDLED_TEMPLATE = Path(__file__).parent / "templates" / "house.yaml"
ALL_FIELDS = ("id", "title", "objective", "persona", "preconditions", "test_data", "steps",
              "priority", "kind", "criterion_ids", "sources", "labels", "confidence")


class TemplateError(CasewrightError):
    pass


ID_PLACEHOLDERS = ("project", "story", "story_number", "seq")
TITLE_PLACEHOLDERS = ("behaviour",)
LABEL_PLACEHOLDERS = ("kind", "story", "epic", "project")
CHECK_PLACEHOLDERS = ("method", "endpoint", "param", "text_param", "response_time")
NEGATIVE_CHECKS = ("missing_required", "malformed_value", "unsupported_value", "unknown_id",
                   "missing_auth", "wrong_content_type", "unknown_fields")
"""The house negative checks the generator knows for REST stories (agent/generation/negative_checks.py)."""
DEFAULT_NEGATIVE_CHECKS = ("missing_required", "malformed_value", "unsupported_value", "unknown_id")


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders of a str.format pattern (`{{` is a literal brace)."""
    try:
        return [name.split(".")[0].split("[")[0] for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid pattern ({exc}); write literal braces as {{{{ and }}}}") from None


def _only(text: str, allowed: tuple[str, ...]) -> str:
    unknown = [n for n in placeholders(text) if n not in allowed]
    if unknown:
        raise ValueError(f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} in {text!r}; "
                         f"use only {', '.join('{' + n + '}' for n in allowed)}")
    return text


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonaRule(_Section):
    match: list[str]
    persona: str


class Priorities(_Section):
    levels: list[str] = Field(default_factory=lambda: ["Critical", "High", "Medium", "Low"])
    by_kind: dict[str, str] = Field(default_factory=lambda: {
        "positive": "High", "negative": "Medium", "boundary": "Medium", "end_to_end": "Critical"})
    raise_for: list[str] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[str]) -> list[str]:
        if not levels or not all(str(level).strip() for level in levels):
            raise ValueError("is empty; list the priority levels, highest first, e.g. [Critical, High, Medium, Low]")
        if len(set(levels)) != len(levels):
            raise ValueError(f"{levels} repeats a level; list each priority once")
        return levels

    @model_validator(mode="after")
    def _kinds_use_levels(self) -> "Priorities":
        unknown = {kind: level for kind, level in self.by_kind.items() if level not in self.levels}
        if unknown:
            raise ValueError(f"by_kind gives {unknown}, not among levels {self.levels}; use one of the levels")
        return self


class Labels(_Section):
    include: list[str] = Field(default_factory=lambda: ["uat", "casewright", "{kind}"])
    lowercase: bool = True

    @field_validator("include")
    @classmethod
    def _include(cls, include: list[str]) -> list[str]:
        return [_only(label, LABEL_PLACEHOLDERS) for label in include]


class Steps(_Section):
    max: int = Field(12, ge=1)


class StandardCheck(_Section):
    """A check the team runs on every story of a kind, whatever its criteria say.
    Placeholders: {method} {endpoint} {param} (the first path or query parameter) {text_param}
    (the first free-text query or header parameter, else {param}) {response_time} (the response
    time the ticket states, else the template's `response_time`; a check using it is left out when
    neither gives one)."""

    title: str
    data: str
    expected: str
    objective: str = ""

    @field_validator("title", "data", "expected", "objective")
    @classmethod
    def _known(cls, text: str) -> str:
        return _only(text, CHECK_PLACEHOLDERS)


class OpeningStep(_Section):
    action: str
    expected: str


class ToolFields(_Section):
    """How a case's fields map to one test-management tool's (write-back to Xray, Zephyr Scale,
    TestRail). Placeholders in custom field values: {story} {epic} {kind} {priority}."""

    priorities: dict[str, str] = Field(default_factory=dict)
    """The template's priority level -> the tool's priority name (a level not listed keeps its name)."""
    types: dict[str, str] = Field(default_factory=dict)
    """Case kind (positive, negative, boundary, end_to_end) -> the tool's case type (TestRail)."""
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    """Tool field -> value: TestRail system names (custom_...), Zephyr Scale custom field names."""


def _tool_defaults() -> dict[str, ToolFields]:
    acceptance = {kind: "Acceptance" for kind in ("positive", "negative", "boundary", "end_to_end")}
    return {"xray": ToolFields(priorities={"Critical": "Highest"}),
            "zephyr": ToolFields(priorities={"Critical": "High", "Medium": "Normal"}),
            "testrail": ToolFields(types=acceptance)}


class HouseTemplate(_Section):
    name: str = "Default UAT template"
    id_pattern: str = "{project}-UAT-{story_number}-{seq:02d}"
    title_style: str = "Verify that {behaviour}"
    title_max_length: int = Field(120, ge=20)
    priorities: Priorities = Field(default_factory=Priorities)
    fields: list[str] = Field(default_factory=lambda: list(ALL_FIELDS[:10]))
    labels: Labels = Field(default_factory=Labels)
    default_persona: str = "Business user"
    personas: list[PersonaRule] = Field(default_factory=list)
    default_preconditions: list[str] = Field(default_factory=list)
    api_preconditions: list[str] = Field(default_factory=list)
    steps: Steps = Field(default_factory=Steps)
    opening_step: OpeningStep | None = None
    """First step of every UI case (e.g. open the customer's account); none for API cases."""
    standard_checks: dict[str, list[StandardCheck]] = Field(default_factory=dict)
    """House checks added to every story of a kind ('api' for REST stories); traced to no criterion."""
    response_time: str = ""
    """The house response-time target of one API call under normal load ('2 seconds', '500 ms'),
    for the {response_time} of standard checks; a ticket that states its own target overrides it."""
    negative_checks: list[str] = Field(default_factory=lambda: list(DEFAULT_NEGATIVE_CHECKS))
    """The negative checks written for every REST story from its parameters and method, by name
    (NEGATIVE_CHECKS): a required parameter left out, a malformed value, a value outside its
    enumeration, an id that names nothing, no credentials, a wrong Content-Type, an unknown body field."""
    outline_examples: Literal["per_row", "table"] = "per_row"
    """A Scenario Outline with Examples: one case per example row with its values put into the steps
    ('per_row'), or one case whose steps keep the <placeholders> and whose test data is the whole
    Examples table ('table'; Gherkin output then writes a Scenario Outline with the Examples)."""
    action_context: str = ""
    """Where the business action happens, appended to story actions, e.g. 'in the service console'."""
    coverage: Literal["gaps", "all"] = "gaps"
    """For stories that already have tests: generate only what they leave uncovered (gaps), or every case (all)."""
    coverage_judge: bool = True
    """With a model configured, it decides the borderline test-criterion pairs of the mapping (docs/coverage.md)."""
    tools: dict[Literal["xray", "zephyr", "testrail"], ToolFields] = Field(default_factory=_tool_defaults)
    """Field maps per test-management tool, each entry over the tool's defaults (`_tool_defaults`)."""

    @field_validator("id_pattern")
    @classmethod
    def _id_pattern(cls, pattern: str) -> str:
        names = placeholders(_only(pattern, ID_PLACEHOLDERS))
        if "seq" not in names or not {"story", "story_number"} & set(names):
            raise ValueError(f"{pattern!r} cannot give every case its own id; include {{seq}} (the case's number "
                             "within its story) and {story} or {story_number}, e.g. '{project}-UAT-{story_number}-{seq:02d}'")
        try:
            pattern.format(project="ABC", story="ABC-1", story_number="1", seq=1)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{pattern!r} is not usable ({exc}); e.g. '{{project}}-UAT-{{story_number}}-{{seq:02d}}'")
        return pattern

    @field_validator("response_time")
    @classmethod
    def _response_time(cls, text: str) -> str:
        if text and not re.fullmatch(r"\s*\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|seconds?)\s*", text):
            raise ValueError(f"{text!r} is not a duration; write a number and a unit, e.g. '2 seconds' or '500 ms' "
                             "(or leave it empty for no response-time check)")
        return text.strip()

    @field_validator("negative_checks")
    @classmethod
    def _negative_checks(cls, checks: list[str]) -> list[str]:
        unknown = [c for c in checks if c not in NEGATIVE_CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(map(str, unknown))}; choose from {', '.join(NEGATIVE_CHECKS)} "
                             "(or [] for none)")
        return list(dict.fromkeys(checks))

    @field_validator("title_style")
    @classmethod
    def _title_style(cls, style: str) -> str:
        unknown = sorted(set(re.findall(r"\{([^{}]*)\}", style)) - set(TITLE_PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} in {style!r}; "
                             "use only {behaviour}, e.g. 'Verify that {behaviour}'")
        if "{behaviour}" not in style:
            raise ValueError(f"{style!r} has no {{behaviour}}, so every case would get the same title; "
                             "include it, e.g. 'Verify that {behaviour}'")
        return style

    # -- applying the template ---------------------------------------------------------------
    def tool_fields(self, tool: str) -> ToolFields:
        """The field map of a test-management tool: the template's entries over the defaults."""
        base, own = _tool_defaults()[tool], self.tools.get(tool)  # type: ignore[index, call-overload]
        if own is None:
            return base
        return ToolFields(priorities={**base.priorities, **own.priorities}, types={**base.types, **own.types},
                          custom_fields={**base.custom_fields, **own.custom_fields})

    def case_id(self, story_key: str, seq: int) -> str:
        project, _, number = story_key.partition("-")
        try:
            return self.id_pattern.format(project=project, story=story_key, story_number=number, seq=seq)
        except (KeyError, ValueError, IndexError) as exc:
            raise TemplateError(f"id_pattern {self.id_pattern!r} is not usable ({exc}); "
                                "use {project}, {story}, {story_number} and {seq}") from None

    def title(self, behaviour: str) -> str:
        behaviour = behaviour.strip().rstrip(".")
        if "{behaviour}" in self.title_style:
            prefix = self.title_style.split("{behaviour}")[0].strip().lower()
            if prefix and behaviour.lower().startswith(prefix):
                behaviour = behaviour[len(prefix):].strip()
            words = behaviour.split()
            if language_of(behaviour, default="") != "en":
                pass  # another language keeps its own capitalisation and words
            # "Agent grants an extension" -> "the Agent grants an extension" (a role, not a sentence start)
            elif (len(words) > 1 and words[0][:1].isupper() and words[0].lower() not in _NO_ARTICLE
                    and re.fullmatch(r"[a-z]+s", words[1]) and not words[1].endswith("ss")):
                behaviour = "the " + behaviour
            else:
                behaviour = _lower_first(behaviour)
        frame = len(self.title_style.replace("{behaviour}", ""))
        return self.title_style.replace("{behaviour}", shorten(behaviour, self.title_max_length - frame))

    def priority(self, kind: str, text: str = "") -> str:
        base = self.priorities.by_kind.get(kind, self.priorities.levels[len(self.priorities.levels) // 2])
        levels = self.priorities.levels
        lowered = text.lower()
        if base in levels and any(w.lower() in lowered for w in self.priorities.raise_for):
            return levels[max(0, levels.index(base) - 1)]
        return base

    def persona(self, text: str) -> str:
        lowered = text.lower()
        for rule in self.personas:
            if any(re.search(rf"\b{re.escape(m.lower())}\b", lowered) for m in rule.match):
                return rule.persona
        return self.default_persona

    def labels_for(self, kind: str, story_key: str, epic_key: str | None) -> list[str]:
        project = story_key.split("-")[0]
        out = []
        for label in self.labels.include:
            value = label.format(kind=kind.replace("_", "-"), story=story_key, epic=epic_key or "",
                                 project=project).strip()
            value = value.lower() if self.labels.lowercase else value
            if value and value not in out:
                out.append(value.replace(" ", "-"))
        return out

    def preconditions(self, persona: str, api: bool) -> list[str]:
        items = self.api_preconditions if api else self.default_preconditions
        return [p.replace("{persona}", persona) for p in items]

    def finalize(self, story: Story, cases: list[UATCase]) -> list[UATCase]:
        """Make cases written elsewhere (by a model) the team's own: casewright's ids, titles,
        priorities and labels, and the step limit. Labels in casewright's reserved namespace
        (write-back finds its issues by them) are dropped: only the template adds those."""
        out = []
        for seq, case in enumerate(cases, start=1):
            priority = case.priority if case.priority in self.priorities.levels else \
                self.priority(case.kind, f"{case.title} {story.summary}")
            extra = [re.sub(r"[^a-z0-9_.-]+", "-", label.strip().lower()).strip("-")[:40] for label in case.labels]
            labels = list(dict.fromkeys(self.labels_for(case.kind, story.key, story.epic_key)
                                        + [label for label in extra if label and not is_reserved_label(label)]))
            out.append(case.model_copy(update={
                "id": self.case_id(story.key, seq),
                "title": self.title(case.title),
                "priority": priority,
                "labels": labels,
                "steps": case.steps[: self.steps.max],
            }))
        return out


def is_reserved_label(label: str) -> bool:
    """Labels in casewright's own namespace (`casewright`, `casewright-case-...`), case-insensitive."""
    return label.strip().lower().startswith("casewright")


_NO_ARTICLE = {"the", "a", "an", "each", "every", "all", "any", "no", "it", "this", "that", "when", "if", "only"}


def _lower_first(s: str) -> str:
    if len(s) > 1 and s[0].isupper() and not s[1].isupper():
        return s[0].lower() + s[1:]
    return s


def load_template(path: str | Path | None = None) -> HouseTemplate:
    """Load a house template; the bundled sample when no path is given."""
    p = Path(path) if path else BUNDLED_TEMPLATE
    if not p.exists():
        raise TemplateError(f"house template not found: {p} (set CASEWRIGHT_TEMPLATE or --template to a YAML file)")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TemplateError(f"house template {p} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise TemplateError(f"house template {p} must be a YAML mapping of settings")
    try:
        template = HouseTemplate.model_validate(raw)
    except ValidationError as exc:
        raise TemplateError(f"house template {p}: {_describe(exc.errors()[0])}") from None
    unknown = [f for f in template.fields if f not in ALL_FIELDS]
    if unknown:
        raise TemplateError(f"house template {p}: fields: unknown field(s) {unknown}; choose from {list(ALL_FIELDS)}")
    return template


def _describe(error: dict) -> str:
    """One validation error as 'where: what is wrong; what to do'."""
    loc = [str(x) for x in error["loc"]]
    where = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        section = _section_at(loc[:-1])
        keys = ", ".join(section.model_fields) if section else ""
        return (f"{where}: unknown key '{loc[-1]}'; remove it or use one of: {keys} "
                f"(the bundled {BUNDLED_TEMPLATE.name} documents each)")
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}"


def _section_at(loc: list[str]) -> type[BaseModel] | None:
    """The template section (model class) at a location such as ['priorities'] or ['personas', '0']."""
    model: type[BaseModel] = HouseTemplate
    for part in loc:
        if part.isdigit():
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        found = next((t for t in _types_in(annotation) if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if found is None:
            return None if part in model.model_fields else model
        model = found
    return model


def _types_in(annotation) -> list:
    args = getattr(annotation, "__args__", None)
    return [annotation] if not args else [t for a in args for t in _types_in(a)]

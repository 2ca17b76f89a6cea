"""The house template: ids, titles, priorities, personas and labels that make cases look like the
team's own. Loaded from YAML (bundled sample: agent/generation/templates/house.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.models import Story, UATCase
from connectors.errors import CasewrightError

BUNDLED_TEMPLATE = Path(__file__).parent / "templates" / "house.yaml"
ALL_FIELDS = ("id", "title", "objective", "persona", "preconditions", "test_data", "steps",
              "priority", "kind", "criterion_ids", "sources", "labels", "confidence")


class TemplateError(CasewrightError):
    pass


class PersonaRule(BaseModel):
    match: list[str]
    persona: str


class Priorities(BaseModel):
    levels: list[str] = Field(default_factory=lambda: ["Critical", "High", "Medium", "Low"])
    by_kind: dict[str, str] = Field(default_factory=lambda: {
        "positive": "High", "negative": "Medium", "boundary": "Medium", "end_to_end": "Critical"})
    raise_for: list[str] = Field(default_factory=list)


class Labels(BaseModel):
    include: list[str] = Field(default_factory=lambda: ["uat", "casewright", "{kind}"])
    lowercase: bool = True


class Steps(BaseModel):
    max: int = 12


class StandardCheck(BaseModel):
    """A check the team runs on every story of a kind, whatever its criteria say.
    Placeholders: {method} {endpoint} {param}."""

    title: str
    data: str
    expected: str
    objective: str = ""


class OpeningStep(BaseModel):
    action: str
    expected: str


class HouseTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Default UAT template"
    id_pattern: str = "{project}-UAT-{story_number}-{seq:02d}"
    title_style: str = "Verify that {behaviour}"
    title_max_length: int = 120
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
    action_context: str = ""
    coverage: Literal["gaps", "all"] = "gaps"
    """For stories that already have tests: generate only what they leave uncovered (gaps), or every case (all)."""
    """Where the business action happens, appended to story actions, e.g. 'in the service console'."""

    # -- applying the template ---------------------------------------------------------------
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
            # "Agent grants an extension" -> "the Agent grants an extension" (a role, not a sentence start)
            if (len(words) > 1 and words[0][:1].isupper() and words[0].lower() not in _NO_ARTICLE
                    and re.fullmatch(r"[a-z]+s", words[1]) and not words[1].endswith("ss")):
                behaviour = "the " + behaviour
            else:
                behaviour = _lower_first(behaviour)
        text = self.title_style.replace("{behaviour}", behaviour)
        if len(text) > self.title_max_length:
            text = text[: self.title_max_length - 1].rsplit(" ", 1)[0] + "…"
        return text

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
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise TemplateError(f"house template {p}: '{where}': {first['msg']}") from None
    unknown = [f for f in template.fields if f not in ALL_FIELDS]
    if unknown:
        raise TemplateError(f"house template {p}: unknown field(s) {unknown}; choose from {list(ALL_FIELDS)}")
    template.case_id("ABC-1", 1)  # fail early on a broken id pattern
    return template

"""Drafting one story's cases, and turning the drafts into UATCases.

`Drafting` is the generator's state for one story (the story, the house template, the persona and
shared preconditions carried over from approved cases, the drafts so far, the limits already
probed) and the parts every case is built from: persona, preconditions, the opening step, the
story's action, steps from a Gherkin scenario or a clause, a REST call. `finish` turns the drafts
into UATCases (ids, priority and labels from the template); drafts with the same steps become one
case covering all their criteria.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from agent.generation.api_data import request_purpose
from agent.generation.phrasing import actor_action, clean, declarative, imperative, sentence, short
from agent.generation.style import style_from_approved_cases, style_from_similar_cases
from agent.generation.template import HouseTemplate
from agent.models import AcceptanceCriterion, Finding, SourceRef, Step, Story, UATCase


@dataclass
class Draft:
    title: str
    objective: str
    kind: str
    criterion_ids: list[str]
    steps: list[Step]
    preconditions: list[str] = field(default_factory=list)
    test_data: dict[str, str] = field(default_factory=dict)
    persona: str | None = None
    confidence: str = "high"
    sources: list[SourceRef] = field(default_factory=list)
    notes: str = ""
    standard: bool = False


def criterion_source(story: Story, c: AcceptanceCriterion) -> SourceRef:
    return SourceRef(kind="criterion", id=c.id, title=short(c.text, 80), url=story.url)


class Drafting:
    """The drafts of one story's cases and the parts they are built from."""

    def __init__(self, story: Story, template: HouseTemplate, retrieved: list[dict[str, Any]] | None = None):
        self.story = story
        self.template = template
        self.retrieved = retrieved or []
        self.api = bool(story.method and story.endpoint)
        persona, shared = style_from_approved_cases(story, template)
        self.style_sources: list[SourceRef] = []
        if persona is None and self.retrieved:  # no approved cases of its own: similar ones set the style
            persona, shared, self.style_sources = style_from_similar_cases(story, self.retrieved)
        self.styled_persona = persona
        self.shared_preconditions = shared
        self.drafts: list[Draft] = []
        self.findings: list[Finding] = []
        self.probed: dict[tuple, list[int]] = {}

    # persona, preconditions and the first step every case starts with
    def persona_for(self, text: str) -> str:
        if self.styled_persona:
            return self.styled_persona
        persona = self.template.persona(f"{text} {self.story.summary}")
        if self.api and persona == self.template.default_persona:
            return "API consumer"
        return persona

    def base_preconditions(self, persona: str) -> list[str]:
        items = self.template.preconditions(persona, self.api) + list(self.shared_preconditions)
        return list(dict.fromkeys(items))

    def api_call(self, data: str, expected: list[str], change: str = "") -> list[Step]:
        """One request, one step: what the response shows is its expected result, observation after
        observation (a feature writes them as one Then with Ands). `change` says what this request
        varies ("with audit=FULL", "without X-Killbill-CreatedBy"), so the step reads as the tester's."""
        purpose = request_purpose(self.story)
        action = (f"Send a {self.story.method} request to {self.story.endpoint}" + (f" to {purpose}" if purpose else "")
                  + (f" {change}" if change else ""))
        seen = list(dict.fromkeys(sentence(e) for e in expected if e.strip()))
        return [Step(action=action, data=data, expected=" ".join(seen))]

    def opening(self) -> list[Step]:
        o = self.template.opening_step
        return [Step(action=o.action, data="", expected=o.expected)] if o and not self.api else []

    def story_action(self) -> str:
        summary = clean(self.story.summary).rstrip(".")
        summary = re.sub(r"^as an? [^,]+,\s*i want to\s*", "", summary, flags=re.I)
        summary = re.sub(r"\ba customer\b", "the customer", summary)
        first = summary.split(" ", 1)[0].lower()
        # a noun phrase, not an imperative: "The ...", "Payment history", "Move-in with a new account"
        # (a hyphenated compound is the noun; the verb is written apart: "move in")
        if first in {"the", "a", "an", "new"} or first.endswith(("ion", "ment", "ance", "ity")) or "-" in first:
            text = f"Carry out '{summary}'"
        else:
            text = summary[0].upper() + summary[1:]
        ctx = self.template.action_context
        return f"{text} {ctx}".strip() if ctx and ctx.lower() not in text.lower() else text

    def gherkin_steps(self, c: AcceptanceCriterion, data: str = "") -> list[Step]:
        steps = self.opening()
        whens = c.when or [self.story_action()]
        thens = " ".join(declarative(t) for t in c.then) or "The action completes without error."
        for i, w in enumerate(whens):
            last = i == len(whens) - 1
            steps.append(Step(action=sentence(actor_action(w) or imperative(w)), data=data if i == 0 else "",
                              expected=thens if last else "The step completes and the flow moves on."))
        return steps

    def clause_steps(self, outcome: str, data: str = "") -> list[Step]:
        steps = self.opening()
        action = actor_action(outcome)
        if action:
            steps.append(Step(action=action, data=data,
                              expected="The entry is accepted and shown on screen; no error is raised."))
        else:
            steps.append(Step(action=sentence(self.story_action()), data=data, expected=declarative(outcome)))
        return steps

    def ui_steps(self, c: AcceptanceCriterion, condition: str, outcome: str, data: str = "") -> list[Step]:
        if c.style == "gherkin" and (c.when or c.then):
            return self.gherkin_steps(c, data)
        return self.clause_steps(outcome, data)

    def add(self, draft: Draft) -> None:
        self.drafts.append(draft)

    # -- drafts into cases --------------------------------------------------------------------------
    def finish(self) -> list[UATCase]:
        cases: list[UATCase] = []
        seen: dict[str, str] = {}
        epic = self.story.epic_key
        for d in self.drafts:
            fp = fingerprint_steps(d.steps)
            if fp in seen:
                # same steps and expectation: fold the criteria into the existing case
                existing = next(c for c in cases if c.id == seen[fp])
                existing.criterion_ids = list(dict.fromkeys(existing.criterion_ids + d.criterion_ids))
                continue
            case_id = self.template.case_id(self.story.key, len(cases) + 1)
            persona = d.persona or self.template.default_persona
            low = self.story.criteria and all(c.vague for c in self.story.criteria)
            case = UATCase(
                id=case_id,
                title=d.title,
                objective=d.objective,
                persona=persona,
                preconditions=list(dict.fromkeys(d.preconditions)),
                test_data=d.test_data,
                steps=d.steps[: self.template.steps.max],
                priority=self.template.priority(d.kind, " ".join([d.title, self.story.summary])),
                kind=d.kind,  # type: ignore[arg-type]
                story_key=self.story.key,
                criterion_ids=d.criterion_ids,
                sources=_dedupe_sources(d.sources + self.style_sources),
                labels=self.template.labels_for(d.kind, self.story.key, epic) + (["standard-check"] if d.standard else []),
                confidence="low" if low else d.confidence,  # type: ignore[arg-type]
                notes=d.notes,
            )
            seen[fp] = case_id
            cases.append(case)
        return cases


def _dedupe_sources(sources: list[SourceRef]) -> list[SourceRef]:
    out: dict[tuple[str, str], SourceRef] = {}
    for s in sources:
        out.setdefault((s.kind, s.id), s)
    return list(out.values())


def fingerprint_steps(steps: list[Step]) -> str:
    norm = "\n".join(f"{clean(s.action).lower()}|{clean(s.data).lower()}|{clean(s.expected).lower()}" for s in steps)
    return hashlib.sha1(norm.encode()).hexdigest()

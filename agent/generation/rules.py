"""The deterministic generator: UAT cases derived from acceptance criteria, no model needed.

For every criterion at least one case a business user can execute (persona, preconditions,
concrete steps, observable expected results taken from the criterion), plus the negative and
boundary cases the criterion implies: limits tested just inside and just outside, each allowed
value of an enumeration and one that is not allowed, required inputs left out, roles without
the permission. For REST stories the parameters the story declares drive the data.
Nothing is invented: where a criterion is vague the case says so and is marked low-confidence.

This module writes each criterion's own cases and runs a story through the steps in order; the
cases a criterion implies are agent/generation/derived.py, the REST parameter cases
agent/generation/rest_api.py, and the drafts and their finishing into UATCases
agent/generation/drafts.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.generation.derived import boundaries, enumerations, permissions, required_inputs
from agent.generation.drafts import Draft, Drafting
from agent.generation.phrasing import (
    actor_action,
    behaviour_phrase,
    clauses,
    clean,
    criterion_sentence,
    declarative,
    endpoint_behaviour,
    english,
    error_status,
    is_negative,
    sentence,
    short,
    split_behaviour,
)
from agent.generation.api_data import api_value, change_of, condition_data, param_data
from agent.generation.limit_governance import govern_limits
from agent.generation.rest_api import SUCCESS_SECTIONS, api_parameters
from agent.generation.rest_inputs import api_collections, api_inputs
from agent.generation.template import HouseTemplate
from agent.intake.gherkin_dialects import block_keyword
from agent.intake.outline import examples_of, substitute, without_examples
from agent.models import AcceptanceCriterion, Finding, SourceRef, Step, Story, UATCase


@dataclass
class StoryResult:
    cases: list[UATCase]
    findings: list[Finding]


def _criterion_kind(c: AcceptanceCriterion) -> str:
    return "negative" if is_negative(c.text) and not _success_outcome(c) else "positive"


def _success_outcome(c: AcceptanceCriterion) -> bool:
    """A criterion listed under a success heading that names no error status is a success outcome,
    whatever words its domain uses ('Blocking state created' is not a refusal)."""
    return bool(SUCCESS_SECTIONS.search(c.section or "")) and not error_status(c.text)


def _merge_key(c: AcceptanceCriterion) -> bool:
    """API success-scenario outcomes with no condition are verified together in one call."""
    return bool(SUCCESS_SECTIONS.search(c.section or "")) and not split_behaviour(c.text).condition


class StoryGenerator(Drafting):
    """The cases of one story: the criteria's own, then those each criterion implies."""

    # -- per criterion --------------------------------------------------------------------------
    def from_criterion(self, c: AcceptanceCriterion, merged_ids: list[str] | None = None,
                       merged_texts: list[str] | None = None) -> None:
        b = split_behaviour(c.text)
        persona = self.persona_for(c.text)
        kind = _criterion_kind(c)
        ids = merged_ids or [c.id]
        sources = [self.story.source()] + [SourceRef(kind="criterion", id=i, title="", url=self.story.url)
                                                 for i in ids]
        sources[1].title = short(c.text, 80)
        confidence = "low" if c.vague else "high"
        notes = ("The criterion names no observable outcome or condition; confirm the expected result "
                 "with the product owner before executing." if c.vague else "")
        if self.api:
            texts = merged_texts or [c.text]
            expected = [declarative(split_behaviour(t).outcome, subject="the API") for t in texts]
            params = [p for p in self.story.parameters if p.required]
            # "an invalid id is supplied or the body is malformed": one case per alternative
            conditions = [x for x in re.split(r"\s+or\s+(?=(?:the|an?|no)\s)", b.condition) if x] or [""]
            for condition in conditions:
                test_data = {p.name: api_value(p) for p in params}
                data = param_data(params)
                if condition:
                    data = condition_data(self.story, condition, data, test_data)
                behaviour = (f"{self.story.method} {self.story.endpoint} succeeds with the required parameters"
                             if merged_ids else endpoint_behaviour(self.story.method or "", self.story.endpoint or "",
                                                                   expected[0], condition, b.conj))
                pre = self.base_preconditions(persona)
                if condition and kind != "negative":
                    pre.append(sentence(condition))
                self.add(Draft(title=self.template.title(behaviour),
                               objective=sentence(f"Verify that {behaviour_phrase(c.text) if not merged_ids else 'the endpoint returns the documented success response'}"),
                               kind=kind, criterion_ids=ids, steps=self.api_call(data, expected, change_of(self.story, test_data)), preconditions=pre,
                               test_data=test_data, persona=persona, confidence=confidence, sources=sources,
                               notes=notes))
            return
        if c.style == "gherkin" and (c.when or c.then):
            examples = examples_of(c)
            if examples and self.template.outline_examples == "per_row":
                for row in examples.rows:
                    filled = c.model_copy(update={
                        "text": substitute(without_examples(c.text), row), "given": [substitute(g, row) for g in c.given],
                        "when": [substitute(w, row) for w in c.when], "then": [substitute(t, row) for t in c.then]})
                    self._gherkin_case(filled, ids, persona, _criterion_kind(filled), confidence, sources, notes, dict(row),
                                       "; ".join(f"{k}: {v}" for k, v in row.items()))
            else:
                data = {f"Example {n}": "; ".join(f"{k}: {v}" for k, v in row.items())
                        for n, row in enumerate(examples.rows, start=1)} if examples else {}
                self._gherkin_case(c, ids, persona, kind, confidence, sources, notes, data, "")
            return
        drafts: list[Draft] = []
        for clause in clauses(criterion_sentence(c)):
            cb = split_behaviour(clause)
            if drafts and not cb.condition and not actor_action(cb.outcome):
                last = drafts[-1].steps[-1]
                drafts[-1].steps[-1] = Step(action=last.action, data=last.data,
                                            expected=f"{last.expected} {declarative(cb.outcome)}".strip())
                continue
            pre = self.base_preconditions(persona)
            if cb.condition:
                pre.append(sentence(cb.condition))
            behaviour = cb.phrase or c.text
            drafts.append(Draft(title=self.template.title(behaviour), objective=sentence(f"Verify that {behaviour}"),
                                kind="negative" if cb.negative else kind if not drafts else "positive",
                                criterion_ids=ids, steps=self.clause_steps(cb.outcome), preconditions=pre,
                                persona=persona, confidence=confidence, sources=sources, notes=notes))
        for d in drafts:
            self.add(d)

    def _gherkin_case(self, c: AcceptanceCriterion, ids: list[str], persona: str, kind: str, confidence: str,
                      sources: list[SourceRef], notes: str, test_data: dict[str, str], data: str) -> None:
        """The case of a Gherkin scenario (one Examples row, or the outline with its whole table as test data)."""
        pre = self.base_preconditions(persona) + [sentence(g) for g in c.given]
        first = c.text.splitlines()[0] if c.text else ""
        name = re.match(r"^\s*Scenario(?: Outline| Template)?:\s*(.+)$", first, re.I)
        translated = block_keyword(first.strip())
        if not english(c.text) and translated and translated[1]:
            behaviour = translated[1]  # the scenario's own name, in its own language
        elif name and _reads_as_sentence(name.group(1)):
            behaviour = name.group(1)
        else:
            behaviour = behaviour_phrase(c.then[0] if c.then else c.text) + (
                f" when {clean(c.when[0]).rstrip('.')}" if c.when else "")
        if data and data not in behaviour and not any(v in behaviour for v in test_data.values()):
            behaviour += f" ({data})"
        outcome = declarative(" and ".join(c.then)).rstrip(".")
        outcome = outcome[0].lower() + outcome[1:] if outcome and english(outcome) else outcome
        objective = (sentence(f"Verify that {outcome}" + (f" when {clean(' and '.join(c.when)).rstrip('.')}" if c.when else ""))
                     if c.then and english(c.text) else sentence(f"Verify the scenario '{behaviour}'"))
        self.add(Draft(title=self.template.title(behaviour), objective=objective, kind=kind, criterion_ids=ids,
                       steps=self.gherkin_steps(c, data), preconditions=pre, test_data=test_data, persona=persona,
                       confidence=confidence, sources=sources, notes=notes))

    # -- the whole story --------------------------------------------------------------------------
    def run(self) -> StoryResult:
        story = self.story
        criteria = story.criteria
        if not criteria:
            return StoryResult(cases=[], findings=[])
        merged_done: set[str] = set()
        governed = govern_limits(story, self.retrieved)
        if self.api:
            group = [c for c in criteria if _merge_key(c) and (not is_negative(c.text) or _success_outcome(c))]
            if len(group) > 1:
                self.from_criterion(group[0], merged_ids=[c.id for c in group], merged_texts=[c.text for c in group])
                merged_done = {c.id for c in group}
        for c in criteria:
            if c.id not in merged_done:
                self.from_criterion(c)
            if c.vague:
                continue
            boundaries(self, c, governed.get(c.id, []))
            enumerations(self, c)
            required_inputs(self, c)
            permissions(self, c)
        if self.api:
            api_parameters(self)
            api_inputs(self)
            api_collections(self)
        return StoryResult(cases=self.finish(), findings=self.findings)


def _reads_as_sentence(name: str) -> bool:
    """A scenario name with a verb ('Agent grants an extension') reads as a title; 'Weekend request' doesn't."""
    words = re.findall(r"[A-Za-z'-]+", name)[1:]
    return any(w.lower() in {"is", "are", "can", "cannot", "must", "should", "will", "gets", "needs"}
               or re.fullmatch(r"[a-z]+s", w) and not w.endswith(("ss", "us")) for w in words)


def generate_for_story(story: Story, template: HouseTemplate,
                       retrieved: list[dict[str, Any]] | None = None) -> StoryResult:
    return StoryGenerator(story, template, retrieved).run()

"""The deterministic generator: UAT cases derived from acceptance criteria, no model needed.

For every criterion at least one case a business user can execute (persona, preconditions,
concrete steps, observable expected results taken from the criterion), plus the negative and
boundary cases the criterion implies: limits tested just inside and just outside, each allowed
value of an enumeration and one that is not allowed, required inputs left out, roles without
the permission. For REST stories the parameters the story declares drive the data.
Nothing is invented: where a criterion is vague the case says so and is marked low-confidence.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from agent.generation.boundaries import Limit, find_enumeration, find_limits, find_time_limits
from agent.generation.phrasing import (
    actor_action,
    behaviour_phrase,
    clauses,
    clean,
    declarative,
    imperative,
    is_negative,
    mask_quotes,
    sentence,
    short,
    split_behaviour,
)
from agent.generation.rule_limits import rule_limits_for
from agent.generation.style import style_from_similar_cases
from agent.generation.template import HouseTemplate
from agent.models import AcceptanceCriterion, Finding, Parameter, SourceRef, Step, Story, UATCase

SUCCESS_SECTIONS = re.compile(r"success|happy|positive", re.I)
_REQUIRED = re.compile(r"\b(?P<what>(?:[\w'-]+\s+){0,3}[\w'-]+)\s+(?:is|are)\s+(?:required|mandatory)\b|"
                       r"\b(?:must|should)\s+(?:enter|provide|supply|select|capture)\s+"
                       r"(?:(?:a|an|the|at least one)\s+)?(?P<what2>(?:(?!(?:from|in|on|for|with|to|of|before|after|when|and|or)\b)[\w'-]+\s*){1,4})",
                       re.I)
# (rule, value just inside, value just outside)
_DATE_RULES = [
    (r"(?:cannot|can't|must not|may not) be (?:a date )?in the past|no (?:past|backdated) dates?", "today", "yesterday"),
    (r"(?:cannot|can't|must not|may not) be (?:a date )?in the future|no future dates?", "today", "tomorrow"),
]
_MESSAGE_CONTENT = re.compile(r"\b(?:saying|stating|that says|reading|which reads|telling (?:them|the customer))\b.*$", re.I)
_ONLY_ROLE = re.compile(r"\b(?i:only)\s+(?:a|an|the)?\s*(?P<role>[A-Z][\w]*(?:\s+[A-Z][\w]*){0,3}s?)\b\s+(?:can|may|is|are|should|must)\b")



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


@dataclass
class StoryResult:
    cases: list[UATCase]
    findings: list[Finding]


# -- helpers -----------------------------------------------------------------------------------

def _criterion_source(story: Story, c: AcceptanceCriterion) -> SourceRef:
    return SourceRef(kind="criterion", id=c.id, title=short(c.text, 80), url=story.url)


def _style(story: Story, template: HouseTemplate) -> tuple[str | None, list[str]]:
    """Persona and shared preconditions carried over from the team's approved cases for the story."""
    cases = story.approved_cases
    if not cases:
        return None, []
    personas = [c.persona for c in cases if c.persona]
    persona = max(set(personas), key=personas.count) if personas else None
    counts: dict[str, int] = {}
    for c in cases:
        for p in c.preconditions:
            counts[p] = counts.get(p, 0) + 1
    # only generic set-up carries over; anything with figures is another case's test data
    shared = [p for p, n in counts.items() if n * 2 >= len(cases) and not re.search(r"\d", p)]
    return persona, shared[:3]


def _api_value(p: Parameter, *, valid: bool = True) -> str:
    seed = f"{p.name}"
    fmt = (p.format or "").lower()
    if not valid:
        if fmt == "uuid" or "uuid" in (p.pattern or "") or p.name.lower().endswith("id"):
            return "not-a-valid-id"
        if p.enum:
            return "INVALID_VALUE"
        if p.type in {"integer", "number"}:
            return "abc"
        if p.type == "boolean":
            return "notaboolean"
        return ""
    if p.enum:
        return p.default if p.default in p.enum else p.enum[0]
    if fmt == "uuid" or p.name.lower().endswith("id"):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/" + seed))
    if fmt in {"date", "date-time"}:
        return "2026-01-15" if fmt == "date" else "2026-01-15T10:00:00Z"
    if p.type == "boolean":
        return "true"
    if p.type in {"integer", "number"}:
        return p.default or "1"
    if p.location == "header":
        return "uat-tester" if "by" in p.name.lower() else f"UAT {p.name.split('-')[-1].lower()}"
    if p.location == "body":
        return "a valid request body as described in the story"
    return p.default or f"valid {p.name}"


def _param_data(params: list[Parameter]) -> str:
    return "; ".join(f"{p.name}={_api_value(p)}" for p in params)


def _criterion_kind(c: AcceptanceCriterion) -> str:
    return "negative" if is_negative(c.text) else "positive"


def _merge_key(c: AcceptanceCriterion) -> bool:
    """API success-scenario outcomes with no condition are verified together in one call."""
    return bool(SUCCESS_SECTIONS.search(c.section or "")) and not split_behaviour(c.text).condition


# -- case drafting -------------------------------------------------------------------------------

class StoryGenerator:
    def __init__(self, story: Story, template: HouseTemplate, retrieved: list[dict[str, Any]] | None = None):
        self.story = story
        self.template = template
        self.retrieved = retrieved or []
        self.api = bool(story.method and story.endpoint)
        persona, shared = _style(story, template)
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

    def api_call(self, data: str, expected: list[str]) -> list[Step]:
        action = f"Send {self.story.method} {self.story.endpoint}"
        steps = [Step(action=action, data=data, expected=expected[0])]
        steps += [Step(action="Inspect the response", data="", expected=e) for e in expected[1:]]
        return steps

    def opening(self) -> list[Step]:
        o = self.template.opening_step
        return [Step(action=o.action, data="", expected=o.expected)] if o and not self.api else []

    def story_action(self) -> str:
        summary = clean(self.story.summary).rstrip(".")
        summary = re.sub(r"^as an? [^,]+,\s*i want to\s*", "", summary, flags=re.I)
        summary = re.sub(r"\ba customer\b", "the customer", summary)
        first = summary.split(" ", 1)[0].lower()
        if first in {"the", "a", "an", "new"} or first.endswith(("ion", "ment", "ance", "ity")):
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
                test_data = {p.name: _api_value(p) for p in params}
                data = _param_data(params)
                if condition:
                    data = self._api_condition_data(condition, data, test_data)
                outcome = expected[0].rstrip(".")
                outcome = outcome[0].lower() + outcome[1:]
                behaviour = (f"{self.story.method} {self.story.endpoint} succeeds with the required parameters"
                             if merged_ids else f"{self.story.method} {self.story.endpoint}: "
                             + outcome.replace("the API ", "", 1) + (f" when {clean(condition).rstrip('.')}" if condition else ""))
                pre = self.base_preconditions(persona)
                if condition and kind != "negative":
                    pre.append(sentence(condition))
                self.add(Draft(title=self.template.title(behaviour),
                               objective=sentence(f"Verify that {behaviour_phrase(c.text) if not merged_ids else 'the endpoint returns the documented success response'}"),
                               kind=kind, criterion_ids=ids, steps=self.api_call(data, expected), preconditions=pre,
                               test_data=test_data, persona=persona, confidence=confidence, sources=sources,
                               notes=notes))
            return
        if c.style == "gherkin" and (c.when or c.then):
            pre = self.base_preconditions(persona) + [sentence(g) for g in c.given]
            name = re.match(r"^\s*Scenario(?: Outline)?:\s*(.+)$", c.text.splitlines()[0] if c.text else "", re.I)
            behaviour = name.group(1) if name and _reads_as_sentence(name.group(1)) else \
                behaviour_phrase(c.then[0] if c.then else c.text) + (
                    f" when {clean(c.when[0]).rstrip('.')}" if c.when else "")
            self.add(Draft(title=self.template.title(behaviour),
                           objective=sentence(f"Verify that {declarative(' and '.join(c.then)).rstrip('.')[0].lower() + declarative(' and '.join(c.then)).rstrip('.')[1:]}"
                                              + (f" when {clean(' and '.join(c.when)).rstrip('.')}" if c.when else ""))
                           if c.then else sentence(f"Verify the scenario '{behaviour}'"),
                           kind=kind, criterion_ids=ids, steps=self.gherkin_steps(c), preconditions=pre,
                           persona=persona, confidence=confidence, sources=sources, notes=notes))
            return
        drafts: list[Draft] = []
        for clause in clauses(c.text):
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

    def _api_condition_data(self, condition: str, data: str, test_data: dict[str, str]) -> str:
        cond = condition.lower()
        for p in self.story.parameters:
            words = {w for w in re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", p.name).lower()) if len(w) > 2}
            if words and all(w in cond for w in words) or p.name.lower() in cond:
                if re.search(r"invalid|malformed|wrong|bad", cond):
                    test_data[p.name] = _api_value(p, valid=False)
                elif re.search(r"not found|does not exist|unknown|non-?existent", cond):
                    test_data[p.name] = str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + p.name)) + " (does not exist)"
                elif re.search(r"missing|without|not (?:provided|supplied)", cond):
                    test_data[p.name] = "(omitted)"
        if "body" in cond and re.search(r"malformed|invalid", cond):
            test_data["body"] = "{ malformed json"
        if re.search(r"not found|does not exist", cond) and not any("does not exist" in v for v in test_data.values()):
            ids = [p for p in self.story.parameters if p.location == "path"]
            if ids:
                test_data[ids[0].name] = str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + ids[0].name)) + " (does not exist)"
        rendered = "; ".join(f"{k}={v}" for k, v in test_data.items())
        return f"{rendered} ({clean(condition).rstrip('.')})" if rendered else clean(condition)

    # -- derived cases -----------------------------------------------------------------------------
    def boundaries(self, c: AcceptanceCriterion, extra: list[tuple[str, SourceRef]]) -> None:
        own = _MESSAGE_CONTENT.sub("", mask_quotes(c.text)[0])
        texts = [(own, None)] + extra
        for text, source in texts:
            for lim in find_limits(text):
                key = (lim.kind, lim.value, lim.unit, lim.currency)
                if self._already_probed(key, c):
                    continue
                start = len(self.drafts)
                self._limit_cases(c, lim, source)
                self.probed[key] = list(range(start, len(self.drafts)))
            for when, ok, bad in _DATE_RULES:
                if re.search(when, text, re.I):
                    key = ("date", ok, bad)
                    if self._already_probed(key, c):
                        continue
                    start = len(self.drafts)
                    phrase = re.search(when, text, re.I).group(0)
                    self._probe_case(c, ok, True, phrase, source, ok)
                    self._probe_case(c, bad, False, phrase, source, bad)
                    self.probed[key] = list(range(start, len(self.drafts)))
            for tl in find_time_limits(text):
                key = (tl.kind, tl.hour, tl.minute)
                if self._already_probed(key, c):
                    continue
                start = len(self.drafts)
                for value, inside in tl.probes():
                    self._probe_case(c, f"at {value}", inside, tl.phrase, source, value)
                self.probed[key] = list(range(start, len(self.drafts)))

    def _already_probed(self, key: tuple, c: AcceptanceCriterion) -> bool:
        """A limit is probed once per story; later criteria it bears on are added to those cases."""
        if key not in self.probed:
            return False
        for i in self.probed[key]:
            if c.id not in self.drafts[i].criterion_ids:
                self.drafts[i].criterion_ids.append(c.id)
        return True

    def label(self, c: AcceptanceCriterion) -> str:
        if c.style == "gherkin":
            name = re.match(r"^\s*Scenario(?: Outline)?:\s*(.+)$", c.text.splitlines()[0] if c.text else "", re.I)
            if name:
                return name.group(1).strip()
        return behaviour_phrase(clauses(c.text)[0] if clauses(c.text) else c.text)

    def _limit_cases(self, c: AcceptanceCriterion, lim: Limit, source: SourceRef | None) -> None:
        for value, inside in lim.probes():
            self._probe_case(c, lim.render(value), inside, lim.phrase, source, lim.render(value))

    def _probe_case(self, c: AcceptanceCriterion, value_text: str, inside: bool, phrase: str,
                    source: SourceRef | None, value: str) -> None:
        b = split_behaviour(c.text)
        if c.style == "gherkin" and c.then:
            b = type(b)(condition=" and ".join(c.given), outcome=" and ".join(c.then), negative=is_negative(c.text))
        persona = self.persona_for(c.text)
        where = "just inside" if inside else "just outside"
        trigger = re.match(r"(?:more than|greater than|over|above|exceed|in excess|less than|fewer than|under|below|>|<)",
                           phrase.strip(), re.I) is not None
        if inside:
            expected = declarative(b.outcome) if not is_negative(b.outcome) or trigger else \
                f"The value {value_text} is accepted: it is within the rule '{phrase}'."
        elif trigger:
            expected = f"The rule '{phrase}' does not apply to {value_text}: {declarative(b.outcome).rstrip('.')} does not happen."
        else:
            expected = f"The value {value_text} is not accepted because it breaks the rule '{phrase}'; the user is told why."
        label = f"with {value_text} ({where} '{phrase}')"
        sources = [self.story.source(), _criterion_source(self.story, c)] + ([source] if source else [])
        if self.api:
            params = [p for p in self.story.parameters if p.required]
            steps = self.api_call(f"{_param_data(params)}; value under test={value}", [expected])
        else:
            steps = self.opening() + [Step(action=f"{self.story_action()} {label}", data=value, expected=expected)]
        pre = self.base_preconditions(persona)
        if b.condition and inside:
            pre.append(sentence(b.condition))
        self.add(Draft(
            title=self.template.title(f"{short(self.label(c), 60)} {label}"),
            objective=sentence(f"Check the limit '{phrase}' {where} the boundary with {value_text}"),
            kind="boundary", criterion_ids=[c.id], steps=steps, preconditions=pre,
            test_data={"Value under test": value}, persona=persona,
            confidence="high" if source is None and inside else "medium", sources=sources,
            notes="" if source is None else f"Limit taken from {source.title or source.id}."))

    def enumerations(self, c: AcceptanceCriterion) -> None:
        values = find_enumeration(c.text)
        if not values:
            return
        persona = self.persona_for(c.text)
        sources = [self.story.source(), _criterion_source(self.story, c)]
        m = re.match(r"^(.+?)\s+(?:must|should|shall|can|may|is|are)\s+(?:be\s+)?(?:one of|either|any of)\b", clean(c.text), re.I)
        subject = (m.group(1) if m else "the value").strip()
        subject = subject[0].lower() + subject[1:] if subject[:2] != subject[:2].upper() else subject
        for v in values:
            self.add(Draft(
                title=self.template.title(f"'{v}' is accepted as {subject}"),
                objective=sentence(f"Check the allowed value '{v}'"), kind="positive", criterion_ids=[c.id],
                steps=self.ui_steps(c, "", split_behaviour(c.text).outcome, data=v) if not self.api else
                self.api_call(f"value={v}", [declarative(split_behaviour(c.text).outcome, "the API")]),
                preconditions=self.base_preconditions(persona), test_data={"Value": v}, persona=persona,
                sources=sources))
        self.add(Draft(
            title=self.template.title(f"a value outside {', '.join(values[:4])} is rejected"),
            objective=sentence(f"Check that only the listed values ({', '.join(values)}) are accepted"),
            kind="negative", criterion_ids=[c.id],
            steps=[Step(action=f"Carry out '{clean(self.story.summary).rstrip('.')}' with a value that is not "
                               f"one of {', '.join(values)}", data="a value not in the list",
                        expected="The value is not accepted and the allowed values are indicated.")],
            preconditions=self.base_preconditions(persona), test_data={"Value": "a value not in the list"},
            persona=persona, confidence="medium", sources=sources))

    def required_inputs(self, c: AcceptanceCriterion) -> None:
        for m in _REQUIRED.finditer(c.text):
            what = clean(m.group("what") or m.group("what2") or "").strip()
            what = re.sub(r"^(?:the|a|an)\s+", "", what, flags=re.I)
            if not what or len(what.split()) > 6:
                continue
            persona = self.persona_for(c.text)
            self.add(Draft(
                title=self.template.title(f"the {what} cannot be left empty"),
                objective=sentence(f"Check that {what} is enforced as required"), kind="negative",
                criterion_ids=[c.id],
                steps=[Step(action=f"Carry out '{clean(self.story.summary).rstrip('.')}' leaving {what} empty",
                            data=f"{what}: (empty)",
                            expected=f"The action is not completed and {what} is flagged as required.")],
                preconditions=self.base_preconditions(persona), test_data={what: "(empty)"}, persona=persona,
                confidence="medium", sources=[self.story.source(), _criterion_source(self.story, c)]))

    def permissions(self, c: AcceptanceCriterion) -> None:
        m = _ONLY_ROLE.search(c.text)
        if not m:
            return
        role = m.group("role").rstrip("s")
        other = self.template.default_persona if role.lower() != self.template.default_persona.lower() else "a user without that role"
        self.add(Draft(
            title=self.template.title(f"a {other} cannot do what only a {role} may"),
            objective=sentence(f"Check that the permission '{short(c.text, 80)}' is enforced"), kind="negative",
            criterion_ids=[c.id],
            steps=[Step(action=f"As a {other}, attempt: {clean(c.text).rstrip('.')}", data="",
                        expected=f"The action is not available to the {other} profile or is blocked with a message.")],
            preconditions=[f"I am logged in with the {other} profile (not {role})"], persona=other,
            confidence="medium", sources=[self.story.source(), _criterion_source(self.story, c)]))

    # -- REST parameters ------------------------------------------------------------------------
    def api_parameters(self) -> None:
        story = self.story
        required = [p for p in story.parameters if p.required]
        error_400 = next((c for c in story.criteria if re.search(r"\b400\b", c.text)), None)
        bad_ids = [error_400.id] if error_400 else [c.id for c in story.criteria[:1]]
        expected_bad = (declarative(split_behaviour(error_400.text).outcome, "the API") if error_400
                        else "The API rejects the request with a client error (4xx) that names the problem.")
        persona = "API consumer" if not self.styled_persona else self.styled_persona
        success = [c for c in story.criteria if SUCCESS_SECTIONS.search(c.section or "")] or story.criteria[:1]
        ok_expected = declarative(split_behaviour(success[0].text).outcome, "the API") if success else \
            "The API returns a successful response."
        ok_ids = [c.id for c in success[:1]]
        base = {p.name: _api_value(p) for p in required}
        for p in story.parameters:
            if p.required or p.location == "body":
                continue
            values = p.enum or (["true", "false"] if p.type == "boolean" else [])
            for v in values or [_api_value(p)]:
                data = {**base, p.name: v}
                self.add(Draft(
                    title=self.template.title(f"{story.method} {story.endpoint} honours {p.name}={v}"),
                    objective=sentence(f"Check the optional {p.location} parameter {p.name} with value {v}"
                                       + (f" (default {p.default})" if p.default else "")),
                    kind="positive", criterion_ids=ok_ids,
                    steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                        [ok_expected, f"The response reflects {p.name}={v}"
                                         + (f": {p.description.rstrip('.')}" if p.description else "") + "."]),
                    preconditions=self.base_preconditions(persona), test_data=data, persona=persona,
                    confidence="medium", sources=[story.source()]))
            if p.enum:
                data = {**base, p.name: "INVALID_VALUE"}
                self.add(Draft(
                    title=self.template.title(f"{story.method} {story.endpoint} rejects an unsupported {p.name}"),
                    objective=sentence(f"Check that {p.name} only accepts {', '.join(p.enum)}"), kind="negative",
                    criterion_ids=bad_ids, steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                                               [expected_bad]),
                    preconditions=self.base_preconditions(persona), test_data=data, persona=persona,
                    confidence="high" if error_400 else "medium", sources=[story.source()]))
        optional = [p for p in story.parameters if not p.required and p.location != "body"]
        if len(optional) >= 2:
            data = {**base, **{p.name: _api_value(p) if not p.enum else p.enum[0] for p in optional}}
            self.add(Draft(
                title=self.template.title(f"{story.method} {story.endpoint} accepts every optional parameter together"),
                objective=sentence("Check the call with all optional parameters set: "
                                   + ", ".join(p.name for p in optional)),
                kind="positive", criterion_ids=ok_ids,
                steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [ok_expected]),
                preconditions=self.base_preconditions(persona), test_data=data, persona=persona,
                confidence="medium", sources=[story.source()]))
        error_404 = next((c for c in story.criteria if re.search(r"\b404\b", c.text)), None)
        for p in required:
            if p.location != "path":
                continue
            tried = {d.test_data.get(p.name, "") for d in self.drafts}
            if error_400 and _api_value(p, valid=False) not in tried and (p.format or p.pattern):
                data = {**base, p.name: _api_value(p, valid=False)}
                self.add(Draft(
                    title=self.template.title(f"{story.method} {story.endpoint} rejects a malformed {p.name}"),
                    objective=sentence(f"Check that {p.name} must be a valid {p.format or p.type or 'value'}"
                                       + (f" matching {p.pattern}" if p.pattern else "")),
                    kind="negative", criterion_ids=[error_400.id],
                    steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()), [expected_bad]),
                    preconditions=self.base_preconditions(persona), test_data=data, persona=persona,
                    confidence="medium", sources=[story.source()]))
            if error_404 and not any("does not exist" in t for t in tried):
                data = {**base, p.name: str(uuid.uuid5(uuid.NAMESPACE_URL, "casewright/missing/" + p.name)) + " (does not exist)"}
                self.add(Draft(
                    title=self.template.title(f"{story.method} {story.endpoint} answers 404 for an unknown {p.name}"),
                    objective=sentence(f"Check the response when {p.name} names nothing that exists"),
                    kind="negative", criterion_ids=[error_404.id],
                    steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()),
                                        [declarative(split_behaviour(error_404.text).outcome, "the API")]),
                    preconditions=self.base_preconditions(persona), test_data=data, persona=persona,
                    confidence="medium", sources=[story.source()]))
        for check in self.template.standard_checks.get("api", []):
            target = next((p.name for p in story.parameters if p.location in {"query", "path"}), "id")
            fill = {"method": story.method, "endpoint": story.endpoint, "param": target}
            data = {**base}
            self.add(Draft(
                title=self.template.title(check.title.format(**fill)),
                objective=sentence(check.objective.format(**fill) if check.objective else check.title.format(**fill)),
                kind="negative", criterion_ids=[],
                steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()) + f"; {check.data.format(**fill)}",
                                    [check.expected.format(**fill)]),
                preconditions=self.base_preconditions(persona), test_data={**data, "Variation": check.data.format(**fill)},
                persona=persona, confidence="medium", sources=[story.source()],
                notes="House standard check from the template; not stated in the story's criteria.",
                standard=True))
        for p in required:
            data = {k: v for k, v in base.items() if k != p.name}
            if p.location == "path":
                continue  # a missing path segment is a different endpoint; invalid formats come from the criteria
            self.add(Draft(
                title=self.template.title(f"{story.method} {story.endpoint} rejects a request without {p.name}"),
                objective=sentence(f"Check that the required {p.location} parameter {p.name} is enforced"),
                kind="negative", criterion_ids=bad_ids,
                steps=self.api_call("; ".join(f"{k}={x}" for k, x in data.items()) + f"; {p.name} omitted",
                                    [expected_bad]),
                preconditions=self.base_preconditions(persona), test_data={**data, p.name: "(omitted)"},
                persona=persona, confidence="high" if error_400 else "medium", sources=[story.source()]))

    # -- the whole story --------------------------------------------------------------------------
    def run(self) -> StoryResult:
        story = self.story
        criteria = story.criteria
        if not criteria:
            return StoryResult(cases=[], findings=[])
        merged_done: set[str] = set()
        if self.api:
            group = [c for c in criteria if _merge_key(c) and not is_negative(c.text)]
            if len(group) > 1:
                self.from_criterion(group[0], merged_ids=[c.id for c in group], merged_texts=[c.text for c in group])
                merged_done = {c.id for c in group}
        for c in criteria:
            if c.id not in merged_done:
                self.from_criterion(c)
            if c.vague:
                continue
            self.boundaries(c, rule_limits_for(story, c, self.retrieved))
            self.enumerations(c)
            self.required_inputs(c)
            self.permissions(c)
        if self.api:
            self.api_parameters()
        return StoryResult(cases=self.finish(), findings=self.findings)

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


def _reads_as_sentence(name: str) -> bool:
    """A scenario name with a verb ('Agent grants an extension') reads as a title; 'Weekend request' doesn't."""
    words = re.findall(r"[A-Za-z'-]+", name)[1:]
    return any(w.lower() in {"is", "are", "can", "cannot", "must", "should", "will", "gets", "needs"}
               or re.fullmatch(r"[a-z]+s", w) and not w.endswith(("ss", "us")) for w in words)


def _dedupe_sources(sources: list[SourceRef]) -> list[SourceRef]:
    out: dict[tuple[str, str], SourceRef] = {}
    for s in sources:
        out.setdefault((s.kind, s.id), s)
    return list(out.values())


def fingerprint_steps(steps: list[Step]) -> str:
    norm = "\n".join(f"{clean(s.action).lower()}|{clean(s.data).lower()}|{clean(s.expected).lower()}" for s in steps)
    return hashlib.sha1(norm.encode()).hexdigest()


def generate_for_story(story: Story, template: HouseTemplate,
                       retrieved: list[dict[str, Any]] | None = None) -> StoryResult:
    return StoryGenerator(story, template, retrieved).run()

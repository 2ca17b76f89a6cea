"""The cases a criterion implies beyond its own: limits probed just inside and just outside (amounts,
counts, lengths, dates that cannot be in the past or the future, times of day), each allowed value
of an enumeration and one that is not allowed, required inputs left out, and roles without the
permission. Limit finding itself is agent/generation/boundaries.py.
"""

from __future__ import annotations

import re

from agent.generation.boundaries import Limit, find_enumeration, find_time_limits, limit_key
from agent.generation.drafts import Draft, Drafting, criterion_source
from agent.generation.limit_governance import LimitText
from agent.generation.phrasing import (
    behaviour_phrase,
    clauses,
    clean,
    criterion_sentence,
    declarative,
    is_negative,
    sentence,
    short,
    shorten,
    split_behaviour,
)
from agent.generation.api_data import param_data
from agent.models import AcceptanceCriterion, SourceRef, Step

_REQUIRED = re.compile(r"\b(?P<what>(?:[\w'-]+\s+){0,3}[\w'-]+)\s+(?:is|are)\s+(?:required|mandatory)\b|"
                       r"\b(?:must|should)\s+(?:enter|provide|supply|select|capture)\s+"
                       r"(?:(?:a|an|the|at least one)\s+)?(?P<what2>(?:(?!(?:from|in|on|for|with|to|of|before|after|when|and|or)\b)[\w'-]+\s*){1,4})",
                       re.I)
# (rule, value just inside, value just outside)
_DATE_RULES = [
    (r"(?:cannot|can't|must not|may not) be (?:a date )?in the past|no (?:past|backdated) dates?", "today", "yesterday"),
    (r"(?:cannot|can't|must not|may not) be (?:a date )?in the future|no future dates?", "today", "tomorrow"),
]
_ONLY_ROLE = re.compile(r"\b(?i:only)\s+(?:a|an|the)?\s*(?P<role>[A-Z][\w]*(?:\s+[A-Z][\w]*){0,3}s?)\b\s+(?:can|may|is|are|should|must)\b")


def boundaries(gen: Drafting, c: AcceptanceCriterion, texts: list[LimitText]) -> None:
    """The boundary cases of the limits `c` governs (agent/generation/limit_governance.py), and of
    the date and time-of-day rules its texts state."""
    for item in texts:
        text, source = item.text, item.source
        for lim in item.limits:
            key = limit_key(lim)
            if _already_probed(gen, key, c):
                continue
            start = len(gen.drafts)
            _limit_cases(gen, c, lim, source)
            gen.probed[key] = list(range(start, len(gen.drafts)))
        for when, ok, bad in _DATE_RULES:
            if re.search(when, text, re.I):
                key = ("date", ok, bad)
                if _already_probed(gen, key, c):
                    continue
                start = len(gen.drafts)
                phrase = re.search(when, text, re.I).group(0)
                _probe_case(gen, c, ok, True, phrase, source, ok)
                _probe_case(gen, c, bad, False, phrase, source, bad)
                gen.probed[key] = list(range(start, len(gen.drafts)))
        for tl in find_time_limits(text):
            key = (tl.kind, tl.hour, tl.minute)
            if _already_probed(gen, key, c):
                continue
            start = len(gen.drafts)
            for value, inside in tl.probes():
                _probe_case(gen, c, f"at {value}", inside, tl.phrase, source, value)
            gen.probed[key] = list(range(start, len(gen.drafts)))


def _already_probed(gen: Drafting, key: tuple, c: AcceptanceCriterion) -> bool:
    """A limit is probed once per story, under one criterion only."""
    return key in gen.probed


def _label(c: AcceptanceCriterion) -> str:
    if c.style == "gherkin":
        name = re.match(r"^\s*Scenario(?: Outline)?:\s*(.+)$", c.text.splitlines()[0] if c.text else "", re.I)
        if name:
            return name.group(1).strip()
    text = criterion_sentence(c)
    clause = clauses(text)[0] if clauses(text) else text
    b = split_behaviour(clause)
    return b.phrase if b.condition else behaviour_phrase(clause)


def _limit_cases(gen: Drafting, c: AcceptanceCriterion, lim: Limit, source: SourceRef | None) -> None:
    for value, inside in lim.probes():
        _probe_case(gen, c, lim.probe_text(value, inside), inside, lim.phrase, source, lim.render(value))


def _label_room(gen: Drafting, probe: str) -> int:
    """How long the criterion's part of a boundary title may be, so that the whole title, probe
    included, fits the template's length (the criterion's words are shortened by rule, never cut)."""
    frame = len(gen.template.title_style.replace("{behaviour}", ""))
    return max(30, gen.template.title_max_length - frame - len(probe) - 1)


def _probe_case(gen: Drafting, c: AcceptanceCriterion, value_text: str, inside: bool, phrase: str,
                source: SourceRef | None, value: str) -> None:
    b = split_behaviour(c.text)
    if c.style == "gherkin" and c.then:
        b = type(b)(condition=" and ".join(c.given), outcome=" and ".join(c.then), negative=is_negative(c.text))
    persona = gen.persona_for(c.text)
    where = "just inside" if inside else "just outside"
    trigger = re.match(r"(?:more than|greater than|over|above|exceed|in excess|less than|fewer than|under|below|after|>|<)",
                       phrase.strip(), re.I) is not None
    if inside:
        expected = declarative(b.outcome) if not is_negative(b.outcome) or trigger else \
            f"The value {value_text} is accepted: it is within the rule '{phrase}'."
    elif trigger:
        expected = f"The rule '{phrase}' does not apply to {value_text}: {declarative(b.outcome).rstrip('.')} does not happen."
    else:
        expected = f"The value {value_text} is not accepted because it breaks the rule '{phrase}'; the user is told why."
    # the probe with the rule's words; where they leave the criterion's words too little room, the
    # probe alone (it gives the value with its noun or unit; the rule's words are in the objective)
    label, brief, words = f"with {value_text} ({where} '{phrase}')", f"with {value_text} ({where} the limit)", _label(c)
    if len(words) > _label_room(gen, label) and (len(words) <= _label_room(gen, brief) or _label_room(gen, label) < 40):
        label = brief
    sources = [gen.story.source(), criterion_source(gen.story, c)] + ([source] if source else [])
    if gen.api:
        params = [p for p in gen.story.parameters if p.required]
        steps = gen.api_call(f"{param_data(params)}; value under test={value}", [expected])
    else:
        steps = gen.opening() + [Step(action=f"{gen.story_action()} {label}", data=value, expected=expected)]
    pre = gen.base_preconditions(persona)
    if b.condition and inside:
        pre.append(sentence(b.condition))
    gen.add(Draft(
        title=gen.template.title(f"{shorten(_label(c), _label_room(gen, label))} {label}"),
        objective=sentence(f"Check the limit '{phrase}' {where} the boundary with {value_text}"),
        kind="boundary", criterion_ids=[c.id], steps=steps, preconditions=pre,
        test_data={"Value under test": value}, persona=persona,
        confidence="high" if source is None and inside else "medium", sources=sources,
        notes="" if source is None else f"Limit taken from {source.title or source.id}."))


def enumerations(gen: Drafting, c: AcceptanceCriterion) -> None:
    values = find_enumeration(c.text)
    if not values:
        return
    persona = gen.persona_for(c.text)
    sources = [gen.story.source(), criterion_source(gen.story, c)]
    m = re.match(r"^(.+?)\s+(?:must|should|shall|can|may|is|are)\s+(?:be\s+)?(?:one of|either|any of)\b", clean(c.text), re.I)
    subject = (m.group(1) if m else "the value").strip()
    subject = subject[0].lower() + subject[1:] if subject[:2] != subject[:2].upper() else subject
    for v in values:
        gen.add(Draft(
            title=gen.template.title(f"'{v}' is accepted as {subject}"),
            objective=sentence(f"Check the allowed value '{v}'"), kind="positive", criterion_ids=[c.id],
            steps=gen.ui_steps(c, "", split_behaviour(c.text).outcome, data=v) if not gen.api else
            gen.api_call(f"value={v}", [declarative(split_behaviour(c.text).outcome, "the API")]),
            preconditions=gen.base_preconditions(persona), test_data={"Value": v}, persona=persona,
            sources=sources))
    gen.add(Draft(
        title=gen.template.title(f"a value outside {', '.join(values[:4])} is rejected"),
        objective=sentence(f"Check that only the listed values ({', '.join(values)}) are accepted"),
        kind="negative", criterion_ids=[c.id],
        steps=[Step(action=f"Carry out '{clean(gen.story.summary).rstrip('.')}' with a value that is not "
                           f"one of {', '.join(values)}", data="a value not in the list",
                    expected="The value is not accepted and the allowed values are indicated.")],
        preconditions=gen.base_preconditions(persona), test_data={"Value": "a value not in the list"},
        persona=persona, confidence="medium", sources=sources))


def required_inputs(gen: Drafting, c: AcceptanceCriterion) -> None:
    for m in _REQUIRED.finditer(c.text):
        what = clean(m.group("what") or m.group("what2") or "").strip()
        what = re.sub(r"^(?:the|a|an)\s+", "", what, flags=re.I)
        if not what or len(what.split()) > 6:
            continue
        persona = gen.persona_for(c.text)
        gen.add(Draft(
            title=gen.template.title(f"the {what} cannot be left empty"),
            objective=sentence(f"Check that {what} is enforced as required"), kind="negative",
            criterion_ids=[c.id],
            steps=[Step(action=f"Carry out '{clean(gen.story.summary).rstrip('.')}' leaving {what} empty",
                        data=f"{what}: (empty)",
                        expected=f"The action is not completed and {what} is flagged as required.")],
            preconditions=gen.base_preconditions(persona), test_data={what: "(empty)"}, persona=persona,
            confidence="medium", sources=[gen.story.source(), criterion_source(gen.story, c)]))


def permissions(gen: Drafting, c: AcceptanceCriterion) -> None:
    m = _ONLY_ROLE.search(c.text)
    if not m:
        return
    role = m.group("role").rstrip("s")
    other = gen.template.default_persona if role.lower() != gen.template.default_persona.lower() else "a user without that role"
    gen.add(Draft(
        title=gen.template.title(f"a {other} cannot do what only a {role} may"),
        objective=sentence(f"Check that the permission '{short(c.text, 80)}' is enforced"), kind="negative",
        criterion_ids=[c.id],
        steps=[Step(action=f"As a {other}, attempt: {clean(c.text).rstrip('.')}", data="",
                    expected=f"The action is not available to the {other} profile or is blocked with a message.")],
        preconditions=[f"I am logged in with the {other} profile (not {role})"], persona=other,
        confidence="medium", sources=[gen.story.source(), criterion_source(gen.story, c)]))

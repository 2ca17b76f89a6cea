"""Acceptance criteria: find them in a story and give each a stable id; the story's criteria, parameters and endpoint.

The text is first converted to structured plain text (``connectors.markup.to_text``: wiki markup,
ADF and XHTML become ``## Heading`` lines, ``- item`` / ``1. item`` lists and ``a | b`` rows).
It is then read line by line, tracking the kind of section each line sits under
(:mod:`agent.intake.sections`), and each criteria section is cut into items
(:mod:`agent.intake.items`).

* From the dedicated AC field (``from_field=True``) the whole text is criteria (only request and
  parameter sections are left out).
* From a description, only criteria-ish sections count. When the description has none (or they
  hold nothing), Given/When/Then scenarios anywhere are taken; failing those, rule sentences
  anywhere ("must", "should", "shall", "cannot", "is required", "only ... if" ...), never the
  "As a ..., I want ..." story sentence.

A one-line criterion is split into its condition and its result ("X if Y", "If Y, X", "When Y
..."; "Given X when Y then Z" on one line becomes Gherkin), and each criterion is assessed
(:func:`agent.intake.quality.assess_criterion` sets ``vague``).

Ids are ``STORY-KEY/AC-n``, n counting from 1 in document order, so they stay stable as long as
the criteria before a criterion do not change.
"""

from __future__ import annotations

import re
from typing import Any

from agent.intake.api_spec import parse_endpoint, parse_parameters
from agent.intake.items import _gherkin_runs, _Item, _items_where, _parse_gherkin
from agent.intake.language import has_words
from agent.intake.lexicon import LEAD_CONDITION
from agent.intake.quality import _RESULT_VERB, assess_criterion
from agent.intake.sections import AC, NON, REQ, UNKNOWN, _Line, _sectioned
from agent.models import AcceptanceCriterion, Parameter
from connectors.markup import to_text

__all__ = ["parse_criteria", "extract"]

# --------------------------------------------------------------------------- condition / outcome split

_LEAD_COND = re.compile(
    rf"^(?:if|when|whenever|once|after|given(?: that)?|upon|on|in case|{LEAD_CONDITION})\s*(.+?),\s*(?:then\s+)?(.+)$", re.I
)
_TRAIL_COND = re.compile(r"^(.+?)\s+(if|when|whenever|unless|once|after|provided(?: that)?|in case)\s+(.+)$", re.I)
_ONLY_COND = re.compile(r"^(?:if|when|whenever|once|after|given(?: that)?|upon|in case)\s+(.+)$", re.I)


_INLINE_GWT = re.compile(r"^\s*given\s+(.+?),?\s+when\s+(.+?),?\s+then\s+(.+?)\.?$", re.I)


def _split_condition(text: str) -> tuple[list[str], list[str]]:
    """(when, then) for a one-line criterion such as 'X if Y', 'If Y, X' or 'When Y.'"""
    flat = " ".join(text.split())
    m = _LEAD_COND.match(flat)
    if m:
        return [m.group(1).strip()], [m.group(2).strip()]
    m = _TRAIL_COND.match(flat)
    if m and len(m.group(1).split()) >= 2:
        cond = m.group(3).strip()
        if m.group(2).lower() == "unless":
            cond = "unless " + cond
        return [cond], [m.group(1).strip()]
    m = _ONLY_COND.match(flat)
    if m:
        cond = m.group(1).strip()
        # "When X the console shows Y": cut before the subject of the first result verb
        v = _RESULT_VERB.search(cond)
        if v:
            head = cond[: v.start()]
            subj = list(re.finditer(r"\b(the|a|an|it|they|no|this|that|their|its|his|her)\b", head, re.I))
            if subj and len(head[: subj[-1].start()].split()) >= 2:
                cut = subj[-1].start()
                return [cond[:cut].strip()], [cond[cut:].strip()]
        return [cond], []
    return [], []


# --------------------------------------------------------------------------- items to criteria


def _to_criterion(story_key: str, n: int, item: _Item) -> AcceptanceCriterion:
    text = "\n".join(item.lines).strip()
    given, when, then = list(item.given), list(item.when), list(item.then)
    style = item.style
    inline = _INLINE_GWT.match(" ".join(" ".join(item.lines).split())) if style != "gherkin" else None
    if inline:  # "Given X when Y then Z" written on one line
        given, when, then = [inline.group(1).strip()], [inline.group(2).strip()], [inline.group(3).strip()]
        style = "gherkin"
    elif style == "table":
        pass  # the condition and expected-result columns already gave when/then
    elif style != "gherkin":
        when, then = _split_condition(item.lines[0])
    c = AcceptanceCriterion(
        id=f"{story_key}/AC-{n}",
        story_key=story_key,
        text=text,
        section=item.section,
        style=style,  # type: ignore[arg-type]
        given=given,
        when=when,
        then=then,
    )
    assess_criterion(c)
    return c


def parse_criteria(story_key: str, text: Any, *, from_field: bool = False) -> list[AcceptanceCriterion]:
    """Acceptance criteria found in ``text`` (wiki, ADF, XHTML, Markdown or plain text).

    ``from_field=True``: the text came from the dedicated acceptance-criteria field, so all of it
    is criteria. Otherwise only criteria-ish sections count, falling back to Gherkin blocks and
    then rule sentences when there are none. Each criterion is assessed (``vague`` is set).
    """
    plain = to_text(text)
    if not plain.strip():
        return []
    if from_field:
        lines, _ = _sectioned(plain, AC, keep_bare_headings=True)
        items = _items_where(lines, {AC, NON, UNKNOWN})
    else:
        lines, saw_ac = _sectioned(plain, UNKNOWN)
        items = _items_where(lines, {AC}) if saw_ac else []
        if not items:
            usable = [ln if ln.kind not in (REQ,) else _Line("", ln.kind, ln.section) for ln in lines]
            runs = _gherkin_runs(usable)
            items = [it for s, e in runs for it in _parse_gherkin(usable[s:e])]
            if not items:
                items = _items_where(lines, {AC, UNKNOWN}, rules_only=True)
    items = [it for it in items if has_words(" ".join(it.lines))]
    return [_to_criterion(story_key, i, item) for i, item in enumerate(items, start=1)]


# --------------------------------------------------------------------------- convenience


def extract(
    story_key: str, description: Any, ac_field_value: Any, *, title: str = ""
) -> tuple[list[AcceptanceCriterion], list[Parameter], tuple[str, str] | None]:
    """Criteria (AC field when it has text, else the description), parameters and endpoint of a story."""
    desc_text = to_text(description)
    field_text = to_text(ac_field_value)
    if field_text.strip():
        criteria = parse_criteria(story_key, field_text, from_field=True)
    else:
        criteria = parse_criteria(story_key, desc_text)
    parameters = parse_parameters(desc_text)
    if field_text.strip():
        named = {(p.name, p.location) for p in parameters}
        parameters += [p for p in parse_parameters(field_text) if (p.name, p.location) not in named]
    endpoint = parse_endpoint(desc_text, title) or (parse_endpoint(field_text) if field_text.strip() else None)
    return criteria, parameters, endpoint

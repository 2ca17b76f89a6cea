"""Which criterion a limit belongs to: each limit of a story is probed once, under the criterion
that governs it.

A limit reaches a story in two ways: a criterion states it in its own words ("The move-in date
cannot be more than 30 days ahead"), or a criterion refers to it ("the Team Leader approval
threshold") and a rule page the story cites states it ("When the balance is above $2,500.00 the
case is saved with status Pending Approval"). Several criteria may reach the same limit, in the
same or another spelling ("35 calendar days", "35 days": one limit, agent/generation/boundaries.py
`limit_key`). The governing criterion is
1. the first criterion whose own text states the limit (quoted messages do not count: a message
   quoting "2 payment extensions" states no rule); otherwise
2. the criterion matched to a rule sentence that defines the limit ("Maximum term: up to 52 weeks",
   a label and its value) over one matched to a sentence that only uses it in passing ("If the
   balance cannot be cleared within 52 weeks ..."), then one whose own words give a count's
   value with its noun ("Caller verified with two identifiers" for "2 of the 3 identifiers");
   then
3. the criterion whose words bear most on the rule sentence that states it (the weights of
   agent/generation/rule_limits.py `scored_rule_limits`, e.g. "above the Team Leader approval
   threshold" over "an open bill with a due balance within the allowed range" for the approval
   limit, weighed up where the criterion refers to a limit ("the maximum number of failed
   attempts", "within tolerance") and where it names the rule sentence's subject ("The final bill
   is issued within 10 business days" for "The final bill is sent ..."); a tie goes to the
   earlier criterion.
A count limit of a rule goes only to a criterion that names what is counted (a criterion about
adding an authorised person does not get "3 failed verification attempts"). The limit's boundary
cases trace to that criterion only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.generation.boundaries import Limit, find_limits, limit_key
from agent.generation.phrasing import mask_quotes
from agent.generation.rule_limits import scored_rule_limits, terms
from agent.models import AcceptanceCriterion, SourceRef, Story

_MESSAGE_CONTENT = re.compile(r"\b(?:saying|stating|that says|reading|which reads|telling (?:them|the customer))\b.*$", re.I)


def own_limit_text(c: AcceptanceCriterion) -> str:
    """The words of a criterion that can state a limit: without quoted messages or what a message says."""
    return _MESSAGE_CONTENT.sub("", mask_quotes(c.text)[0])


def _unquoted(sentence: str) -> str:
    """A rule sentence without the messages it quotes ('rejected with the message "Card expires
    within 30 days"' states the rule 'at least 30 days' once, not a second limit)."""
    return mask_quotes(sentence)[0]


def _defines(sentence: str, lim: Limit) -> bool:
    """Whether the rule sentence defines the limit ('Maximum term: up to 52 weeks', a label and its
    value) rather than using it in passing ('If the balance cannot be cleared within 52 weeks, ...')."""
    label, colon, value = sentence.partition(":")
    return bool(colon) and 3 <= len(label) <= 80 and lim.phrase in value


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                 10: "ten", 12: "twelve"}


def _names_value(text: str, lim: Limit) -> bool:
    """Whether the criterion's own words give the count's value with its noun ('Caller verified
    with two identifiers' for '2 of the 3 identifiers')."""
    if not lim.noun or lim.value != lim.value.to_integral():
        return False
    value = int(lim.value)
    number = rf"(?:{value}|{_NUMBER_WORDS[value]})" if value in _NUMBER_WORDS else str(value)
    noun = re.escape(lim.noun.split(" ")[-1].rstrip("s"))
    return bool(re.search(rf"\b{number}\s+(?:[\w-]+\s+){{0,2}}{noun}", _unquoted(text), re.I))


@dataclass
class LimitText:
    """A text a criterion's boundary cases read: its own words (source None) or a rule sentence,
    with the limits in it that this criterion governs (the others are probed elsewhere)."""

    text: str
    source: SourceRef | None
    limits: list[Limit] = field(default_factory=list)


def govern_limits(story: Story, retrieved: list[dict[str, Any]] | None) -> dict[str, list[LimitText]]:
    """Per criterion id: its own text, then the rule sentences that bear on it, each with the limits
    it governs. Vague criteria get nothing (the generator writes no boundary cases for them)."""
    criteria = [c for c in story.criteria if not c.vague]
    texts: dict[str, list[LimitText]] = {}
    # limit key -> (rank, criterion id, index of the text in texts[criterion id])
    best: dict[tuple, tuple[tuple, str, int]] = {}

    def offer(rank: tuple, cid: str, index: int, lim: Limit) -> None:
        key = limit_key(lim)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, cid, index)

    for order, c in enumerate(criteria):
        own = LimitText(own_limit_text(c), None)
        texts[c.id] = [own]
        for lim in find_limits(own.text):
            offer((2, True, True, 0.0, -order), c.id, 0, lim)
        own_terms = terms(_unquoted(c.text))
        for sentence, source, weight in scored_rule_limits(story, c, list(retrieved or [])):
            texts[c.id].append(LimitText(sentence, source))
            for lim in find_limits(_unquoted(sentence)):
                counted = lim.noun if lim.phrase.lower().startswith("after") else lim.noun.split(" ")[-1]
                if lim.noun and not terms(counted) <= own_terms:
                    continue  # a count belongs to a criterion that names what is counted (all of an
                    # event that triggers the outcome: 'after 1 missed instalment' needs 'missed')
                offer((1, _defines(sentence, lim), _names_value(c.text, lim), round(weight, 6), -order), c.id,
                      len(texts[c.id]) - 1, lim)
    for cid, items in texts.items():
        for index, item in enumerate(items):
            item.limits = [lim for lim in find_limits(_unquoted(item.text) if item.source else item.text)
                           if limit_key(lim) in best and best[limit_key(lim)][1:] == (cid, index)]
    return texts

"""Rule limits: the deterministic generator uses the limits that retrieved rule pages state.

Criteria often say "within the allowed range" or "the maximum extension" and leave the numbers
to a Confluence rule page. This module finds, in the rule sections retrieved for a story, the
sentences that state a threshold, limit or eligibility value and bear on a given criterion
("The overdue or due balance must be at least $50.00 and no more than $5,000.00."), and hands
them to the generator (agent/generation/derived.py), which turns each limit into
boundary cases (just inside, just outside) with the value as test data and the rule in the
expected result, and cites the chunk (`SourceRef(kind="page_section", id=<chunk id>, title=...)`).

Tables are read row by row: a row whose header or label names a maximum, minimum, cap or limit
becomes a sentence the limit finder understands ("Maximum extension from the original due date
for Standard customer: up to 21 calendar days").

Which sentences bear on a criterion is decided by shared words, weighted by how distinctive
they are among all candidate sentences (a word every table row shares, like "extension", counts
little; "hardship" or "standard" count a lot). Only chunks retrieved for the story are read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from agent.generation.boundaries import find_limits
from agent.models import AcceptanceCriterion, SourceRef, Story

RULE_KINDS = {"page_section", "page"}
MAX_SENTENCES = 4
_MAX_WORDS = re.compile(r"\b(max(?:imum)?|cap|limit|up to|at most|no more than|longest|latest)\b", re.I)
_MIN_WORDS = re.compile(r"\b(min(?:imum)?|at least|no less than|earliest|shortest)\b", re.I)
_HAS_VALUE = re.compile(r"[$£€]\s?\d|\d+(?:\.\d+)?\s?(?:%|business days?|calendar days?|days?|weeks?|months?|"
                        r"years?|hours?|minutes?|digits?|characters?|attempts?|times)\b", re.I)
# a sentence that says what happens past the limit the sentence before it states
_BACK_REFERENCE = re.compile(r"^(?:this|it|otherwise|beyond|above|below)\b|^(?:\S+\s+){0,5}?(?:sooner|later|earlier|"
                             r"longer|shorter|beyond (?:it|this|that)|above (?:it|this|that)|below (?:it|this|that))\b",
                             re.I)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_WORD = re.compile(r"[a-z0-9]+(?:[.,]\d+)?")
_STOP = set("""a an the and or of to in on for from with by at as is are be been being this that these those it its
into than then there their them they which who whom what when where while any all each per not no must may can
should shall will would could only also has have had does do did done if else via within above below over under
after before more most less least new one two first last same such other""".split())


def _stem(word: str) -> str:
    """'notified', 'notification' -> 'notif'; 'verify', 'verified' -> 'verif'; 'days' -> 'day'."""
    for suffix in ("ication", "ied", "ies", "ing", "ed", "es", "s", "y"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _split_sentences(block: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", block)
    return [p.strip(" -*\t") for p in parts if p.strip(" -*\t")]


@dataclass(frozen=True)
class RuleSentence:
    text: str
    label_terms: frozenset[str] | None = None
    """For a table row: the words that tell this row from its siblings (a criterion must use one)."""
    sibling_terms: frozenset[str] = frozenset()
    """For a table row: the words of the other rows' labels ("without a hardship flag" names this one)."""


def _table_sentences(rows: list[list[str]]) -> list[RuleSentence]:
    """Header + rows -> one sentence per limit cell ("<header> for <row label>: up to <value>")."""
    if len(rows) < 2:
        return []
    header, body = rows[0], rows[1:]
    labels = [terms(row[0]) if row else set() for row in body]
    common = set.intersection(*labels) if labels else set()
    out = []
    owns = [frozenset(lt - common) or frozenset(lt) for lt in labels]
    for n, (row, own) in enumerate(zip(body, owns)):
        label = row[0] if row else ""
        siblings = frozenset().union(*(o for m, o in enumerate(owns) if m != n))
        for col, cell in enumerate(row[1:], start=1):
            head = header[col] if col < len(header) else ""
            if find_limits(cell):
                out.append(RuleSentence(f"{label}: {cell}", own, siblings))
            elif _HAS_VALUE.search(cell) or re.fullmatch(r"\d+", cell.strip()):  # "Maximum authorised persons | 2"
                context = f"{head} {label}"
                limit_head = bool(_MIN_WORDS.search(head) or _MAX_WORDS.search(head))
                prefix = f"{head} for {label}" if limit_head else label
                if _MIN_WORDS.search(context):
                    out.append(RuleSentence(f"{prefix}: at least {cell}", own, siblings))
                elif _MAX_WORDS.search(context):
                    out.append(RuleSentence(f"{prefix}: up to {cell}", own, siblings))
    return out


# a criterion that refers to a limit without its value: the one a rule's limit belongs to
LIMIT_REFERENCE = re.compile(r"\b(?:max(?:imum)?|min(?:imum)?|limit|threshold|tolerance|allowed range|cap|"
                             r"at most|at least|up to|no more than|no less than|required notice|too (?:soon|"
                             r"late|long|short|early|many|few)|beyond|exceed\w*|due date|deadline)\b", re.I)
_SUBJECT = re.compile(r"^(?:the|a|an)\s+((?:[\w'-]+\s+){0,3}?[\w'-]+)\s+(?:is|are|must|should|can|will|may|shall)\b",
                      re.I)


def _subject_terms(sentence: str) -> set[str]:
    """The words of a rule sentence's subject ('The final bill is issued within ...' -> final, bill)."""
    m = _SUBJECT.match(sentence.strip())
    return terms(m.group(1)) if m else set()


def rule_items(text: str) -> list[RuleSentence]:
    """The sentences of a rule section that state a limit, tables rendered row by row."""
    out: list[RuleSentence] = []
    table: list[list[str]] = []

    def close_table() -> None:
        nonlocal table
        out.extend(_table_sentences(table))
        table = []

    for line in text.splitlines():
        stripped = line.strip()
        if " | " in stripped:
            table.append([c.strip() for c in stripped.strip("|").split(" | ")])
            continue
        close_table()
        stripped = re.sub(r"^(?:[-*]|\d+\.)\s+", "", stripped)
        current: RuleSentence | None = None
        for sentence in _split_sentences(stripped):
            if find_limits(_QUOTED.sub('""', sentence)) or (current is None and find_limits(sentence)):
                current = RuleSentence(sentence)
                out.append(current)
            elif current is not None and _BACK_REFERENCE.search(sentence):
                # "A card expiring sooner is rejected ...": what happens at the limit just stated
                current = RuleSentence(f"{current.text} {sentence}")
                out[-1] = current
    close_table()
    seen: set[str] = set()
    return [r for r in out if not (r.text in seen or seen.add(r.text))]


def rule_sentences(text: str) -> list[str]:
    return [r.text for r in rule_items(text)]


_NEGATION = re.compile(r"\b(?:without|no|not|non|never|excluding)\b((?:\W+\w+){1,3})", re.I)


def criterion_terms(text: str) -> tuple[set[str], set[str]]:
    """(wanted, negated): the words of a criterion clause, and words it only uses after a negation
    ("without a hardship flag" -> hardship, flag), which point away from a rule."""
    negated_spans = " ".join(m.group(1) for m in _NEGATION.finditer(text))
    positive = terms(_NEGATION.sub(" ", text))
    negated = terms(negated_spans) - positive
    return positive, negated


def _clauses(c: AcceptanceCriterion) -> list[str]:
    """Given/When/Then steps one by one; otherwise the criterion's sentences. A one-line criterion
    split into its condition and outcome is read whole as well ('The registration must be sent to
    the distributor when the Move In case is submitted, and ... the notification reference' bears
    on 'The distributor must be notified within 1 business day' through both halves)."""
    steps = [*c.given, *c.when, *c.then]
    if steps:
        return steps + ([c.text] if c.style != "gherkin" else [])
    return _split_sentences(c.text) or [c.text]


def _source(chunk: dict[str, Any]) -> SourceRef:
    return SourceRef(kind="page_section", id=str(chunk.get("id", "")), title=str(chunk.get("title", "")),
                     url=chunk.get("url") or None)


def _page_of(chunk: dict[str, Any]) -> str:
    """The Confluence page id a rule chunk comes from ('page:200001#eligibility' -> '200001')."""
    if chunk.get("source_id"):
        return str(chunk["source_id"])
    m = re.match(r"page:([^#]+)", str(chunk.get("id", "")))
    return m.group(1) if m else ""


def cited_rule_chunks(story: Story, retrieved: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The retrieved rule chunks a story's limits may come from: those of the pages the story links
    to, when any was retrieved (a story citing 'Payment Plan Rules' does not take the limits of
    'Payment Extension Rules' that retrieval also found); otherwise every retrieved rule chunk."""
    rules = [c for c in retrieved or [] if c.get("kind") in RULE_KINDS]
    cited = {str(p) for p in story.linked_pages}
    own = [c for c in rules if _page_of(c) in cited]
    return own or rules


def scored_rule_limits(story: Story, criterion: AcceptanceCriterion,
                       retrieved: list[dict[str, Any]]) -> list[tuple[str, SourceRef, float]]:
    """Like `rule_limits_for`, with how strongly each sentence bears on the criterion (the weight
    of the clause that picked it), so that a limit several criteria reach can go to the one it
    bears on most (agent/generation/limit_governance.py)."""
    candidates: list[tuple[RuleSentence, dict[str, Any]]] = []
    for chunk in cited_rule_chunks(story, retrieved):
        for item in rule_items(str(chunk.get("text", ""))):
            candidates.append((item, chunk))
    if not candidates:
        return []
    sentence_terms = [terms(item.text) for item, _ in candidates]
    n = len(candidates)
    df: dict[str, int] = {}
    for ts in sentence_terms:
        for t in ts:
            df[t] = df.get(t, 0) + 1
    picked: dict[str, tuple[str, SourceRef, float]] = {}
    _, negated_anywhere = criterion_terms(" ".join([criterion.text, *criterion.given, *criterion.when,
                                                    *criterion.then]))
    own_words = _QUOTED.sub('""', " ".join([criterion.text, *criterion.given, *criterion.when, *criterion.then]))
    refers_to_limit = bool(LIMIT_REFERENCE.search(own_words))
    all_terms = terms(own_words)
    for clause in _clauses(criterion):
        wanted, negated = criterion_terms(clause)
        scored = []
        for (item, chunk), ts in zip(candidates, sentence_terms):
            shared = wanted & ts
            if len(shared) < 2 or not (any(df[t] < n for t in shared) or n == 1):
                continue
            if item.label_terms is not None and not (wanted & item.label_terms):
                # a table row the clause does not name: only when the criterion rules out its siblings
                # ("without a hardship flag" -> the standard customer's row)
                if item.label_terms & negated_anywhere or not item.sibling_terms & negated_anywhere:
                    continue
            weight = sum(math.log(1 + n / df[t]) for t in shared)
            if refers_to_limit:
                weight *= 1.5  # "after the maximum number of failed attempts", "within tolerance"
            if _subject_terms(item.text) and _subject_terms(item.text) <= all_terms:
                weight *= 2.0  # the rule is about what the criterion is about: "The final bill is issued ..."
            if ts & negated:
                weight *= 0.3
            if criterion.id in (chunk.get("criterion_ids") or []):
                weight *= 1.25
            scored.append((weight, item.text, chunk))
        if not scored:
            continue
        scored.sort(key=lambda x: -x[0])
        best = scored[0][0]
        for weight, text, chunk in scored:
            if weight >= 0.9 * best and (text not in picked or picked[text][2] < weight):
                picked[text] = (text, _source(chunk), weight)
    return list(picked.values())[:MAX_SENTENCES]


def rule_limits_for(story: Story, criterion: AcceptanceCriterion,
                    retrieved: list[dict[str, Any]]) -> list[tuple[str, SourceRef]]:
    """Limit-stating sentences from the retrieved rule sections that bear on `criterion`, each with
    the chunk it came from. Each clause of the criterion picks the sentence that shares the most
    distinctive words with it; nothing when nothing retrieved bears on it. Only the pages the
    story links to are read when retrieval found any of them (`cited_rule_chunks`)."""
    return [(text, source) for text, source, _ in scored_rule_limits(story, criterion, retrieved)]

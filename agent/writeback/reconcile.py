"""Reconciling the cases a run generated with the records a write-back target already holds.

A pure function, the same for every target (Jira issues here; any other test-management target
describes its records the same way). The target states each case it is asked to hold as a
`Desired` and each of casewright's records it found as a `Record`; `reconcile` pairs them one to
one and says what to do with each: create, update, unchanged, retire or conflict. It reads and
writes nothing.

Matching never crosses a story (``group``) or a case kind, and never uses positional ids (case or
criterion numbers). In order:

1. **content identity**: the record's stored fingerprint equals the case's (live records before
   retired ones, then in the order given);
2. **as written**: the record holds exactly what the case would be written as now (a record an
   interrupted run created before it could store its fingerprint);
3. **similarity**, for what is left: ``score = 0.8 * similarity(criteria texts) + 0.2 *
   similarity(contents)`` (the contents alone when the record's criteria texts are unknown);
   pairs scoring at least `SIMILARITY_THRESHOLD` are taken best first, each side once. Records
   without a hash at write (casewright cannot tell whether a person wrote them) take no part.

`similarity(a, b)` compares the words of both in order (difflib): with M words matched, the mean
of ``2M / (|a| + |b|)`` and ``M / min(|a|, |b|)``, so a reworded criterion scores high and each
half of a split criterion scores high against the whole; the closer half wins the record and
the other half is created.

A matched record is a **conflict** when it cannot hold the case (``blocked``, e.g. the wrong issue
type) or a person edited it (its current hash differs from its hash at write); else **unchanged**
when it already holds what the case would be written as, else **update** (a retired record is
revived by it). An unmatched record is **retired**, unless it is retired already (listed, nothing
to do), blocked, edited by a person or of unknown authorship: then a **conflict**, left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

ACTIONS = ("create", "update", "unchanged", "retire", "conflict")
SIMILARITY_THRESHOLD = 0.7
"""The least score at which a leftover case and record count as the same case (module docstring)."""
CRITERIA_WEIGHT = 0.8
MAX_WORDS = 2000
"""Texts are compared on their first MAX_WORDS words (a bound on the quadratic matcher)."""

_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Desired:
    """A case the target should hold."""

    case_id: str                 # positional id: for reporting only
    group: str                   # the story: matches never cross it
    kind: str
    fingerprint: str             # content identity (agent/writeback/identity.py)
    criteria: tuple[str, ...]    # normalised texts of the criteria it verifies
    content: str                 # what it would be written as (for similarity)
    content_hash: str            # hash of what it would be written as


@dataclass(frozen=True)
class Record:
    """One of casewright's records, as the target reports it."""

    ref: str                              # the target's key (issue key, test id)
    group: str | None                     # None: unknown (matches any story)
    kind: str | None                      # None: unknown (matches any kind)
    fingerprint: str | None               # stored at write; None when missing
    criteria: tuple[str, ...] | None      # criteria texts stored at write; None when unknown
    content: str                          # what it holds now
    current_hash: str                     # hash of what it holds now
    hash_at_write: str | None             # hash of what casewright wrote; None when unknown
    retired: bool = False
    blocked: str = ""                     # why it cannot hold a case here (a conflict); "" when it can


@dataclass
class Decision:
    action: str                           # one of ACTIONS
    case_id: str | None                   # the case (None for a record no case matched)
    ref: str | None                       # the record (None for a create)
    group: str = ""
    reason: str = ""
    repairs: list[str] = field(default_factory=list)   # "property": the stored identity is missing or stale
    revive: bool = False                  # an update that brings a retired record back
    score: float | None = None            # the similarity score, when matched by similarity
    gone: tuple[str, ...] = ()            # retire: the record's criteria texts no longer live
    duplicate_of: str | None = None       # retire: the record holding the same case


@dataclass
class Reconciliation:
    decisions: list[Decision]             # one per desired case (in order), then one per unmatched record
    retired: list[str]                    # records retired before and still unmatched: nothing to do

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for d in self.decisions if d.action == a) for a in ACTIONS}


class _Words:
    """A text's words (the first MAX_WORDS, lower-cased) and their counts, computed once."""

    __slots__ = ("words", "counts")

    def __init__(self, text: str) -> None:
        self.words = _WORD.findall(text.lower())[:MAX_WORDS]
        self.counts = Counter(self.words)


def _combine(matched: int, a: int, b: int) -> float:
    return (2 * matched / (a + b) + matched / min(a, b)) / 2 if a and b else 0.0


def _similar(a: _Words, b: _Words, matcher: SequenceMatcher | None = None) -> float:
    if not a.words or not b.words:
        return 0.0
    matcher = matcher or SequenceMatcher(None, autojunk=False)
    matcher.set_seqs(a.words, b.words)
    return _combine(sum(block.size for block in matcher.get_matching_blocks()), len(a.words), len(b.words))


def _bound(a: _Words, b: _Words) -> float:
    """An upper bound of `_similar` (words in common, in any order): cheap, to skip hopeless pairs."""
    return _combine(sum((a.counts & b.counts).values()), len(a.words), len(b.words))


def similarity(a: str, b: str) -> float:
    """0..1: how alike two texts are, word by word in order (module docstring)."""
    return _similar(_Words(a), _Words(b))


class _Scorer:
    """`score` for many pairs: each text split once, hopeless pairs skipped by an upper bound."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[_Words | None, _Words]] = {}
        self._matcher = SequenceMatcher(None, autojunk=False)

    def _of(self, item: Desired | Record) -> tuple[_Words | None, _Words]:
        key = id(item)
        if key not in self._cache:
            crit = "\n".join(sorted(item.criteria)) if item.criteria else None
            self._cache[key] = (_Words(crit) if crit is not None else None, _Words(item.content))
        return self._cache[key]

    def __call__(self, case: Desired, record: Record, floor: float = 0.0) -> float:
        """The pair's score; below `floor`, any value below `floor`."""
        (ca, wa), (cr, wr) = self._of(case), self._of(record)
        if cr is None or ca is None:
            return _similar(wa, wr, self._matcher) if _bound(wa, wr) >= floor else 0.0
        weight = CRITERIA_WEIGHT
        if weight * _bound(ca, cr) + (1 - weight) * _bound(wa, wr) < floor:
            return 0.0
        return weight * _similar(ca, cr, self._matcher) + (1 - weight) * _similar(wa, wr, self._matcher)


def score(case: Desired, record: Record) -> float:
    """The similarity score of a case and a record (module docstring)."""
    return _Scorer()(case, record)


def _edited(record: Record) -> bool:
    return record.hash_at_write is not None and record.current_hash != record.hash_at_write


def _match(desired: list[Desired], records: list[Record]) -> dict[str, tuple[Record, float | None]]:
    """Case id -> (record, similarity score or None), one to one."""
    taken: set[str] = set()
    out: dict[str, tuple[Record, float | None]] = {}
    ordered = sorted(records, key=lambda r: r.retired)   # stable: live first, then as given

    def fits(case: Desired, record: Record) -> bool:
        return record.ref not in taken and record.group in (None, case.group) and record.kind in (None, case.kind)

    for attribute, wanted in (("fingerprint", "fingerprint"), ("current_hash", "content_hash")):
        index: dict[str | None, list[Record]] = {}
        for record in ordered:
            index.setdefault(getattr(record, attribute), []).append(record)
        for case in desired:
            if case.case_id not in out:
                hit = next((r for r in index.get(getattr(case, wanted), []) if fits(case, r)), None)
                if hit is not None:
                    out[case.case_id] = (hit, None)
                    taken.add(hit.ref)
    buckets: dict[tuple[str | None, str | None], list[tuple[int, Record]]] = {}
    for j, record in enumerate(ordered):
        if record.ref not in taken and record.hash_at_write is not None:
            buckets.setdefault((record.group, record.kind), []).append((j, record))
    scorer = _Scorer()
    pairs = []
    for i, case in enumerate(desired):
        if case.case_id in out:
            continue
        for bucket in {(case.group, case.kind), (case.group, None), (None, case.kind), (None, None)}:
            for j, record in buckets.get(bucket, []):
                s = scorer(case, record, SIMILARITY_THRESHOLD)
                if s >= SIMILARITY_THRESHOLD:
                    pairs.append((-s, i, j, case, record))
    for s, _, _, case, record in sorted(pairs, key=lambda p: p[:3]):
        if case.case_id not in out and record.ref not in taken:
            out[case.case_id] = (record, -s)
            taken.add(record.ref)
    return out


def _matched(case: Desired, record: Record, sim: float | None) -> Decision:
    def decide(action: str, reason: str = "", **kw: object) -> Decision:
        return Decision(action, case.case_id, record.ref, case.group, reason, score=sim, **kw)  # type: ignore[arg-type]

    repairs = ["property"] if record.fingerprint != case.fingerprint else []
    if record.blocked:
        return decide("conflict", record.blocked)
    if _edited(record):
        return decide("conflict", "edited since casewright wrote it; left alone")
    if record.retired:
        return decide("update", "its criterion is back: restoring it", revive=True)
    if record.current_hash == case.content_hash:
        return decide("unchanged", repairs=repairs)
    if record.hash_at_write is None:
        return decide("update", "written by an interrupted run; completing it")
    why = "the case changed" if sim is None or record.fingerprint is None else f"its criterion was reworded (similarity {sim:.2f})"
    return decide("update", why)


def _unmatched(record: Record, twins: dict[str, list[str]], matched: dict[str, str], live: set[str]
               ) -> Decision | None:
    def decide(action: str, reason: str, **kw: object) -> Decision:
        return Decision(action, None, record.ref, record.group or "", reason, **kw)  # type: ignore[arg-type]

    if record.retired:
        return None
    if record.blocked:
        return decide("conflict", f"{record.blocked}; no generated case matches it any more")
    if record.hash_at_write is None:
        return decide("conflict", "casewright cannot tell whether a person wrote it (no stored hash) and "
                                  "no generated case matches it; left alone")
    if _edited(record):
        return decide("conflict", "edited since casewright wrote it and no generated case matches it any more; "
                                  "left alone")
    twin = next((matched[cid] for cid in twins.get(record.fingerprint, []) if cid in matched), None)
    if twin is not None:
        return decide("retire", f"a duplicate of {twin}, which holds the same case", duplicate_of=twin)
    gone = tuple(t for t in record.criteria or () if t not in live)
    if gone:
        return decide("retire", "its criterion is no longer in the story", gone=gone)
    return decide("retire", "no generated case matches it any more")


def reconcile(desired: list[Desired], records: list[Record], live_criteria: set[str] | None = None) -> Reconciliation:
    """What to do with each desired case and each record (module docstring). `live_criteria`: the
    normalised texts of every criterion still in the stories, to say which one a retired record lost."""
    refs = [r.ref for r in records]
    if len(set(refs)) != len(refs):
        raise ValueError("records must have distinct refs")
    found = _match(desired, records)
    decisions = [_matched(c, *found[c.case_id]) if c.case_id in found
                 else Decision("create", c.case_id, None, c.group, "new case") for c in desired]
    matched_refs = {rec.ref for rec, _ in found.values()}
    by_case = {cid: rec.ref for cid, (rec, _) in found.items()}
    live = live_criteria if live_criteria is not None else {t for c in desired for t in c.criteria}
    twins: dict[str, list[str]] = {}
    for c in desired:
        twins.setdefault(c.fingerprint, []).append(c.case_id)
    retired: list[str] = []
    for record in records:
        if record.ref in matched_refs:
            continue
        decision = _unmatched(record, twins, by_case, live)
        if decision is None:
            retired.append(record.ref)
        else:
            decisions.append(decision)
    return Reconciliation(decisions, retired)

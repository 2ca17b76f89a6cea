"""Benchmark: write-back reconciliation (agent/writeback/reconcile.py): where the similarity
threshold sits on real criteria, and how long matching takes.

    .venv/bin/python bench/reconcile.py            # calibration on the sample + 2,000 cases
    .venv/bin/python bench/reconcile.py --cases 200

1. calibration  the criteria of every story of the sample project's epics: the highest similarity
                of two different criteria of the same story (what a deleted and an inserted
                criterion could score), the lowest after rewording 10% / 30% of a criterion's words
                (seeded), and for criteria that split in two (at "; " or " and ") the lowest score of
                the closer and of the other half; then the highest full score (criteria and rendered
                content) of two generated cases of one story and kind that verify different criteria
2. speed        `reconcile` over N cases in stories of 20 cases: every fingerprint still the same
                (the baseline: only exact matching runs), then every case reworded (all pairs of a
                story and kind go through similarity)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.configuration import Configuration  # noqa: E402
from agent.generation.template import load_template  # noqa: E402
from agent.renderers.jira_wiki import case_to_wiki  # noqa: E402
from agent.runner import generate_epic  # noqa: E402
from agent.state import case_set  # noqa: E402
from agent.writeback.identity import comparable, content_hash, criteria_of, fingerprint  # noqa: E402
from agent.writeback.reconcile import SIMILARITY_THRESHOLD, Desired, Record, reconcile, score, similarity  # noqa: E402

EPICS = ("ER-1", "ER-8", "ER-14")


def sample_case_sets():
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for epic in EPICS:
            cfg = Configuration(source="sample", formats=[], data_dir=tmp, out_dir=tmp)
            out.append(case_set(generate_epic(epic, cfg).state, cfg, load_template().name))
    return out


def desired(case, texts) -> Desired:
    summary, description = case.title, case_to_wiki(case)
    return Desired(case.id, case.story_key, case.kind, fingerprint(case, texts), criteria_of(case, texts),
                   comparable(summary, description), content_hash(summary, description))


def calibration() -> None:
    sets = sample_case_sets()
    crits = [(s.key, c.text) for cs in sets for s in cs.stories for c in s.criteria]
    distinct = max(similarity(a, b) for (sa, a), (sb, b) in itertools.combinations(crits, 2) if sa == sb)
    rng = Random(7)
    reworded = {}
    for share in (0.1, 0.3):
        scores = []
        for _, text in crits:
            words = text.split()
            for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
                words[i] = f"w{rng.randrange(10**6)}"
            scores.append(similarity(text, " ".join(words)))
        reworded[share] = min(scores)
    closer, other, n_split = 1.0, 1.0, 0
    for _, text in crits:
        sep = next((s for s in ("; ", " and ") if s in text), None)
        if sep:
            a, b = text.split(sep, 1)
            pair = sorted((similarity(text, a), similarity(text, b)))
            other, closer, n_split = min(other, pair[0]), min(closer, pair[1]), n_split + 1
    cases = []
    for cs in sets:
        texts = {c.id: c.text for s in cs.stories for c in s.criteria}
        cases += [desired(c, texts) for c in cs.cases]
    as_records = {c.case_id: Record(c.case_id, c.group, c.kind, c.fingerprint, c.criteria, c.content, c.content_hash,
                                    c.content_hash) for c in cases}
    full = max(score(a, as_records[b.case_id]) for a, b in itertools.permutations(cases, 2)
               if a.group == b.group and a.kind == b.kind and not set(a.criteria) & set(b.criteria))
    print(f"calibration: {len(crits)} criteria, {len(cases)} cases of {', '.join(EPICS)}; threshold {SIMILARITY_THRESHOLD}")
    print(f"  two different criteria of a story:  at most {distinct:.3f}")
    print(f"  a criterion with 10% of its words reworded: at least {reworded[0.1]:.3f}; 30%: at least {reworded[0.3]:.3f}")
    print(f"  {n_split} criteria split in two: the closer half at least {closer:.3f}, the other at least {other:.3f}")
    print(f"  two cases of a story and kind verifying different criteria, full score: at most {full:.3f}")


def speed(n: int) -> None:
    rng = Random(3)
    vocab = [f"word{i}" for i in range(400)]

    def sentence() -> str:
        return " ".join(rng.choice(vocab) for _ in range(rng.randint(12, 30)))

    cases, records, reworded = [], [], []
    for i in range(n):
        story, kind, crit = f"ER-{i // 20}", ("positive", "negative")[i % 2], sentence()
        content = f"Verify that {crit}\n" + sentence() + "\n" + sentence()
        d = Desired(f"C-{i}", story, kind, f"fp{i}", (crit,), content, f"h{i}")
        cases.append(d)
        records.append(Record(f"ER-{1000 + i}", story, kind, d.fingerprint, d.criteria, content, d.content_hash,
                              d.content_hash))
        words = crit.split()
        words[rng.randrange(len(words))] = "changed"
        reworded.append(Desired(d.case_id, story, kind, f"fp{i}-v2", (" ".join(words),), content + " v2", f"h{i}-v2"))
    def timed(want):  # noqa: ANN001, ANN202
        wall, cpu = time.perf_counter(), time.process_time()
        result = reconcile(want, records)
        return result, time.perf_counter() - wall, time.process_time() - cpu

    base, base_wall, base_cpu = timed(cases)
    moved, wall, cpu = timed(reworded)
    print(f"speed: {n} cases in {n // 20} stories of 20 (2 kinds); wall and CPU seconds")
    print(f"  nothing changed (exact matching only): {base_wall:.3f} s wall, {base_cpu:.3f} s CPU, {base.counts()}")
    print(f"  every case reworded (similarity for all): {wall:.3f} s wall, {cpu:.3f} s CPU, {moved.counts()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    calibration()
    speed(args.cases)


if __name__ == "__main__":
    main()

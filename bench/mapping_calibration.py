"""Calibration of the mapping's similarity threshold (agent/review/mapping.py SIMILARITY_THRESHOLD).

For each candidate threshold it maps, with the configured embedding model, and prints precision,
recall and F1 of the links found on:

- laj-labelled: the hand-labelled LAJ links (tests/agent/review/data/laj_links.json: 138 reference
  scenarios of 6 tickets of ../shared/data/laj-gherkin-dev, 117 links);
- sample: the bundled sample project's approved cases, their Traceability ids removed, against
  the criteria those ids named;

and, as a check that a story's tests are told from another story's criteria, the best similarity
of each LAJ reference scenario to its own ticket's criteria vs to the next ticket's (cross: the
share of scenarios whose own best is higher). The chosen threshold is the best mean F1 of the two
mapped sources.

    .venv/bin/python bench/mapping_calibration.py [--laj ../shared/data/laj-gherkin-dev]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agent.evaluation.datasets import load_laj  # noqa: E402
from agent.evaluation.mapping import laj_labelled, score_links, workspace_traced  # noqa: E402
from agent.intake.linked_tests import case_text  # noqa: E402
from agent.models import ExistingTest  # noqa: E402
from agent.review.mapping import SIMILARITY_THRESHOLD, Mapper, test_query  # noqa: E402
from connectors.embeddings import get_embedder  # noqa: E402
from connectors.workspace import SAMPLE_PATH  # noqa: E402

DEFAULT_LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev"
LABELS = ROOT / "tests" / "agent" / "review" / "data" / "laj_links.json"


def cross_ticket(mapper: Mapper, folder: Path) -> float:
    """The share of LAJ reference scenarios closer to their own ticket's criteria than to the next's."""
    items = [i for i in load_laj(folder).items if i.story.criteria and i.reference_cases]
    tests = [(n, test_query(ExistingTest(key=c.id, title=c.title, text=case_text(c))))
             for n, i in enumerate(items) for c in i.reference_cases]
    criteria = [(n, c.text) for n, i in enumerate(items) for c in i.story.criteria]
    sims = mapper.similarities([t for _, t in tests], [c for _, c in criteria])
    owner = np.array([n for n, _ in criteria])
    closer = 0
    for row, (n, _) in enumerate(tests):
        other = (n + 1) % len(items)
        closer += int(sims[row, owner == n].max() > sims[row, owner == other].max())
    return closer / len(tests) if tests else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laj", type=Path, default=DEFAULT_LAJ)
    args = ap.parse_args()
    encoder = get_embedder()
    sources = {"laj-labelled": laj_labelled(args.laj, LABELS), "sample": workspace_traced(SAMPLE_PATH)}
    for name, (stories, gold) in sources.items():
        print(f"{name}: {len(stories)} stories, {sum(len(s.existing_tests) for s in stories)} tests, "
              f"{len(gold)} links")
    thresholds = [round(0.35 + 0.025 * i, 3) for i in range(9)]
    mean_f1 = {}
    print(f"{'threshold':>9}  " + "  ".join(f"{n + ' P/R/F1':>20}" for n in sources))
    for th in thresholds:
        mapper = Mapper(encoder=encoder, threshold=th)
        scores = []
        for stories, gold in sources.values():
            links = mapper.map_stories(stories)
            scores.append(score_links({(lk.test_key, lk.criterion_id) for ls in links.values() for lk in ls}, gold))
        mean_f1[th] = sum(s.f1 for s in scores) / len(scores)
        print(f"{th:>9.3f}  " + "  ".join(f"{s.precision:6.2f}/{s.recall:5.2f}/{s.f1:5.2f}".rjust(20) for s in scores))
    best = max(thresholds, key=lambda th: mean_f1[th])
    print(f"cross: {cross_ticket(Mapper(encoder=encoder), args.laj):.2f} of LAJ scenarios are closer to their "
          "own ticket's criteria than to the next ticket's")
    print(f"best mean F1 at {best:.3f}; configured SIMILARITY_THRESHOLD = {SIMILARITY_THRESHOLD}")


if __name__ == "__main__":
    main()

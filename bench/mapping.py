"""Benchmark: mapping the existing tests of an epic of N stories with T tests each to criteria.

Stories are the LAJ development slice's tickets (../shared/data/laj-gherkin-dev) under new keys,
each with T of its reference scenarios as existing tests that name no criteria, so every test goes
through the similarity path (the slowest). Times, with the packaged embedding model already loaded:
the mapping (`Mapper.map_stories`: one encoder call for every test, criterion and condition) and
the staleness check with its memory (agent/review/staleness.py), and prints the figures.

    .venv/bin/python bench/mapping.py [--stories 200] [--tests 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.evaluation.datasets import load_laj  # noqa: E402
from agent.intake.linked_tests import case_text  # noqa: E402
from agent.models import AcceptanceCriterion, ExistingTest, Story  # noqa: E402
from agent.review.mapping import Mapper  # noqa: E402
from agent.review.staleness import load_memory, save_memory, story_staleness  # noqa: E402
from connectors.embeddings import get_embedder  # noqa: E402

DEFAULT_LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev"


def build_epic(folder: Path, n_stories: int, n_tests: int) -> list[Story]:
    items = [i for i in load_laj(folder).items if i.story.criteria and len(i.reference_cases) >= n_tests]
    stories = []
    for n in range(n_stories):
        item = items[n % len(items)]
        key = f"BEN-{n + 1}"
        offset = (n // len(items)) * n_tests
        cases = [item.reference_cases[(offset + k) % len(item.reference_cases)] for k in range(n_tests)]
        criteria = [AcceptanceCriterion(id=f"{key}/AC-{k + 1}", story_key=key, text=c.text, section=c.section)
                    for k, c in enumerate(item.story.criteria)]
        tests = [ExistingTest(key=f"BEN-T{n * n_tests + k + 1}", title=c.title, text=case_text(c),
                              updated="2026-10-01T00:00:00.000+0000") for k, c in enumerate(cases)]
        stories.append(Story(key=key, summary=item.story.summary, criteria=criteria, existing_tests=tests))
    return stories


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=200)
    ap.add_argument("--tests", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--laj", type=Path, default=DEFAULT_LAJ)
    args = ap.parse_args()
    stories = build_epic(args.laj, args.stories, args.tests)
    t0 = time.perf_counter()
    mapper = Mapper(encoder=get_embedder())
    mapper.encoder.encode(["warm up"])
    load_s = time.perf_counter() - t0
    map_s, stale_s, links = [], [], {}
    with tempfile.TemporaryDirectory() as data_dir:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            links = mapper.map_stories(stories)
            map_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for story in stories:
                _, memory = story_staleness(story, links[story.key], load_memory(data_dir, story.key))
                save_memory(data_dir, story.key, memory)
            stale_s.append(time.perf_counter() - t0)
    n_tests = sum(len(s.existing_tests) for s in stories)
    n_criteria = sum(len(s.criteria) for s in stories)
    print(f"epic: {len(stories)} stories, {n_tests} tests, {n_criteria} criteria; "
          f"{sum(len(v) for v in links.values())} links found")
    print(f"model load + warm-up: {load_s:.2f} s")
    print(f"mapping (median of {args.repeat}): {statistics.median(map_s):.2f} s "
          f"({statistics.median(map_s) / n_tests * 1000:.1f} ms per test)")
    print(f"staleness + memory (median of {args.repeat}): {statistics.median(stale_s):.3f} s")


if __name__ == "__main__":
    main()

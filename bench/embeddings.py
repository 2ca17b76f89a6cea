"""Benchmark: the embedding backends (torch, onnx, onnx-int8) on the same chunk texts, same run.

    .venv/bin/python bench/embeddings.py                 # about 2,000 chunk texts
    .venv/bin/python bench/embeddings.py --texts 500     # quicker

For each backend: the first-use export (onnx backends; cached afterwards), load time, throughput
(texts/s, best of --repeat passes, passes interleaved across backends so load drifts hit all
alike), its ratio to torch, and agreement with torch: cosine of each text's two embeddings (mean
and minimum) and top-10 overlap of retrieval for the sample project's queries (its stories'
summaries and criteria) over the chunk embeddings. Also the single-query latency (p50), which
every retrieval pays. The texts are the sample project's chunks, copied with varied wording as
bench/knowledge.py does, so their token lengths are those of real chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agent.knowledge.base import workspace_chunks  # noqa: E402
from connectors.embedding_backends import BACKENDS  # noqa: E402
from connectors.embeddings import get_embedder  # noqa: E402
from connectors.workspace import SAMPLE_PATH, parse_workspace  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from knowledge import build_workspace  # noqa: E402


def chunk_texts(n: int) -> list[str]:
    copies = 1
    while True:
        texts = [c.embed_text for c in workspace_chunks(build_workspace(copies))]
        if len(texts) >= n or copies > 64:
            return texts[:n]
        copies *= 2


def queries() -> list[str]:
    """What retrieval asks with: the sample project's story and criterion texts."""
    ws = parse_workspace(json.loads(SAMPLE_PATH.read_text()))
    return [c.embed_text for c in workspace_chunks(ws) if c.kind in ("story", "criterion")]


def top_k(vectors: np.ndarray, qs: np.ndarray, k: int = 10) -> list[set[int]]:
    scores = qs @ vectors.T
    return [set(np.argsort(-row)[:k].tolist()) for row in scores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "torch" not in backends:
        backends.insert(0, "torch")

    texts = chunk_texts(args.texts)
    qtexts = queries()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {len(texts)} chunk texts "
          f"(mean {statistics.mean(len(t) for t in texts):.0f} chars), {len(qtexts)} queries")
    cache = Path(tempfile.mkdtemp(prefix="casewright-bench-models-"))
    encoders, load_s = {}, {}
    for backend in backends:
        t0 = time.perf_counter()
        encoders[backend] = get_embedder(backend=backend, cache_dir=cache)
        load_s[backend] = time.perf_counter() - t0
    for enc in encoders.values():  # warm-up
        enc.encode(texts[:16])

    best = {b: float("inf") for b in backends}
    vectors = {}
    for _ in range(args.repeat):
        for backend in backends:
            t0 = time.perf_counter()
            vectors[backend] = encoders[backend].encode(texts)
            best[backend] = min(best[backend], time.perf_counter() - t0)

    qvec = {b: encoders[b].encode(qtexts) for b in backends}
    ref_top = top_k(vectors["torch"], qvec["torch"])
    print(f"\n{'backend':<10} {'load s':>7} {'texts/s':>8} {'x torch':>8} {'cos mean':>9} {'cos min':>8} "
          f"{'top10 ovl':>9} {'query p50 ms':>12}")
    for backend in backends:
        cos = (vectors[backend] * vectors["torch"]).sum(axis=1)
        tops = top_k(vectors[backend], qvec[backend])
        overlap = statistics.mean(len(a & b) / 10 for a, b in zip(tops, ref_top))
        lat = []
        for q in qtexts[:40]:
            t0 = time.perf_counter()
            encoders[backend].encode([q])
            lat.append((time.perf_counter() - t0) * 1000)
        rate = len(texts) / best[backend]
        print(f"{backend:<10} {load_s[backend]:>7.2f} {rate:>8.1f} {best['torch'] / best[backend]:>8.2f} "
              f"{cos.mean():>9.4f} {cos.min():>8.4f} {overlap:>9.3f} {statistics.median(lat):>12.1f}")
    print(f"\nload after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

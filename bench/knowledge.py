"""Benchmark: the knowledge base (ingest, re-sync, filtered query latency, memory).

    .venv/bin/python bench/knowledge.py            # >= 5,000 chunks, 100,000 points
    .venv/bin/python bench/knowledge.py --quick    # small sizes, under a minute

Steps (each prints its time and the peak resident memory of the process during the step):

1. corpus     a realistic workspace: the sample project copied into N projects under new keys,
              with amounts, day limits and wording varied per copy, parsed and chunked
2. encode     plain `model.encode` of every chunk text (the baseline)
3. ingest     `ingest_workspace` into a fresh embedded store: parse, chunk, hash, embed, BM25,
              upsert, flush, optimise. Throughput ratio = encode time / ingest time (target >= 0.9)
4. resync     the same workspace again: nothing changed, nothing embedded (target >= 50x faster)
5. scale      an embedded store of `--points` points: the real chunk embeddings plus perturbed
              copies (noise, renormalised) to reach the size, with payloads over 20 projects
6. query      filtered (one project, about 5% of the points) top-10 dense queries with real query
              embeddings: p50/p95 latency for the engine's planner (HNSW / payload index), exact
              search, and the hybrid (dense + BM25 RRF) query; recall@10 against exact search.
              Query embedding time is reported separately.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agent.knowledge.base import StoreConfig, ingest_workspace, open_knowledge_base, workspace_chunks  # noqa: E402
from connectors.chunking import Chunk  # noqa: E402
from connectors.embeddings import get_embedder  # noqa: E402
from connectors.knowledge_store import EmbeddedStore, Filters  # noqa: E402
from connectors.workspace import SAMPLE_PATH, parse_workspace  # noqa: E402

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's resident set size every 10 ms; `peak_mb` is the maximum of a step."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE_SIZE

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.01)

    def __enter__(self) -> "PeakRss":
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


RESULTS: dict[str, dict] = {}


def step(name: str):
    class _Step:
        def __enter__(self):
            self.mem = PeakRss().__enter__()
            self.t0 = time.perf_counter()
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.t0
            self.mem.__exit__(*exc)
            RESULTS.setdefault(name, {}).update(seconds=round(self.seconds, 3), peak_rss_mb=round(self.mem.peak_mb, 1))

    return _Step()


# --------------------------------------------------------------------------- corpus

_WORDS = {
    r"\bcustomer\b": ["customer", "account holder", "client", "customer"],
    r"\bAgent\b": ["Agent", "Consultant", "Advisor", "Agent"],
    r"\bTeam Leader\b": ["Team Leader", "Supervisor", "Team Manager"],
    r"\bbill\b": ["bill", "invoice", "statement"],
    r"\bconcession\b": ["concession", "rebate", "discount"],
}


def vary(text: str, rng: Random) -> str:
    factor = rng.choice([0.5, 0.75, 1.25, 1.5, 2.0, 3.0])
    text = re.sub(r"\$(\d[\d,]*)(\.\d\d)?",
                  lambda m: f"${float(m.group(1).replace(',', '')) * factor:,.2f}", text)
    delta = rng.randint(1, 9)
    text = re.sub(r"\b(\d{1,3}) (calendar days|business days|days|months|weeks)\b",
                  lambda m: f"{int(m.group(1)) + delta} {m.group(2)}", text)
    for pattern, choices in _WORDS.items():
        text = re.sub(pattern, rng.choice(choices), text)
    return text


def build_workspace(copies: int, seed: int = 7):
    sample = json.loads(SAMPLE_PATH.read_text())
    rng = Random(seed)
    doc = {**sample, "issues": [], "pages": [], "remoteLinks": {}, "projects": []}
    for c in range(copies):
        key = f"Q{c:03d}"
        doc["projects"].append({"id": str(20000 + c), "key": key, "name": f"Programme {c}"})
        rekey = lambda s: re.sub(r"\bER-(\d+)", rf"{key}-\1", s)  # noqa: E731
        for issue in sample["issues"]:
            i = copy.deepcopy(issue)
            i["key"] = rekey(i["key"])
            i["id"] = str(100000 * (c + 1) + int(issue["id"]))
            f = i["fields"]
            if isinstance(f.get("project"), dict):
                f["project"]["key"] = key
            if f.get("parent"):
                f["parent"]["key"] = rekey(f["parent"]["key"])
            for link in f.get("issuelinks") or []:
                for side in ("inwardIssue", "outwardIssue"):
                    if link.get(side):
                        link[side]["key"] = rekey(link[side]["key"])
            for name, value in list(f.items()):
                if isinstance(value, str) and name in ("summary", "description") or name.startswith("customfield"):
                    if isinstance(value, str):
                        f[name] = rekey(vary(value, rng))
            doc["issues"].append(i)
        for page in sample["pages"]:
            p = copy.deepcopy(page)
            p["id"] = str(int(page["id"]) + 1000 * (c + 1))
            p["space"] = {**(p.get("space") or {}), "key": key}
            p["body"]["storage"]["value"] = vary(p["body"]["storage"]["value"], rng)
            doc["pages"].append(p)
    return parse_workspace(doc, f"bench-{copies}")


def slice_workspace(ws, keys: set[str]):
    """The part of the bench workspace that belongs to the projects `keys`."""
    doc = ws.to_dict()
    doc["projects"] = [p for p in doc["projects"] if p["key"] in keys]
    doc["issues"] = [i for i in doc["issues"] if i["key"].split("-")[0] in keys]
    doc["pages"] = [p for p in doc["pages"] if (p.get("space") or {}).get("key") in keys]
    return parse_workspace(doc, f"bench-{','.join(sorted(keys))}")


# --------------------------------------------------------------------------- steps

def perturbed(base: np.ndarray, n: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    idx = rng.integers(0, len(base), size=n)
    out = base[idx] + rng.normal(0.0, sigma, size=(n, base.shape[1])).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed_queries(fn, vectors) -> list[float]:
    times = []
    for v in vectors:
        t0 = time.perf_counter()
        fn(v)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: finishes in under a minute")
    ap.add_argument("--chunks", type=int, default=5000, help="minimum chunks in the ingest corpus")
    ap.add_argument("--points", type=int, default=100_000, help="points in the query-latency store")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="encode/ingest rounds, interleaved")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch intra-op threads (0: torch's default); 1 is faster on a busy 2-core box")
    args = ap.parse_args()
    if args.quick:
        args.chunks, args.points, args.queries, args.rounds = 300, 10_000, 100, 2

    tmp = Path(tempfile.mkdtemp(prefix="casewright-bench-"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; temp store {tmp}")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    embedder = get_embedder()
    embedder.encode(["warm up the model"])

    RESULTS["setup"] = {"torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                        "load_average_start": round(os.getloadavg()[0], 2)}

    # 1. corpus
    sample_chunks = len(workspace_chunks(parse_workspace(json.loads(SAMPLE_PATH.read_text()))))
    copies = max(1, -(-args.chunks // sample_chunks))
    with step("corpus") as s:
        ws = build_workspace(copies)
        chunks = workspace_chunks(ws)
    texts = [c.embed_text for c in chunks]
    RESULTS["corpus"].update(chunks=len(chunks), projects=copies,
                             mean_chars=round(statistics.mean(len(t) for t in texts)))
    print(f"corpus   {len(chunks):>7} chunks in {copies} projects, {s.seconds:.2f}s to build+parse+chunk")

    # 2 + 3. plain encode (baseline) and ingest, interleaved in rounds of a few projects each, so that a
    # busy machine's changing speed affects both alike; the order inside a round alternates
    config = StoreConfig(data_dir=str(tmp / "ingest"))
    kb = open_knowledge_base(config, embedder=embedder)
    keys = [p["key"] for p in ws.projects]
    rounds = [keys[n::args.rounds] for n in range(min(args.rounds, len(keys)))]
    encode_s = ingest_s = 0.0
    embedded = 0
    plain_by_text: dict[str, np.ndarray] = {}
    enc_peak = ing_peak = 0.0
    for n, group in enumerate(rounds):
        part = slice_workspace(ws, set(group))
        part_texts = [c.embed_text for c in workspace_chunks(part)]

        def do_encode():
            with step("encode") as st:
                vecs = embedder.model.encode(part_texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
            plain_by_text.update(zip(part_texts, vecs))
            return st

        def do_ingest():
            with step("ingest") as st:
                st.summary = ingest_workspace(kb, part)
            return st

        first_e = n % 2 == 0
        a = do_encode() if first_e else do_ingest()
        b = do_ingest() if first_e else do_encode()
        e_step, i_step = (a, b) if first_e else (b, a)
        encode_s += e_step.seconds
        ingest_s += i_step.seconds
        embedded += i_step.summary.embedded
        enc_peak, ing_peak = max(enc_peak, e_step.mem.peak_mb), max(ing_peak, i_step.mem.peak_mb)
        print(f"round {n + 1}/{len(rounds)}: {len(part_texts)} chunks, encode {e_step.seconds:.1f}s, "
              f"ingest {i_step.seconds:.1f}s", flush=True)
    plain = np.stack([plain_by_text[t] for t in texts])
    ratio = encode_s / ingest_s
    RESULTS["encode"].update(seconds=round(encode_s, 3), chunks_per_s=round(len(texts) / encode_s, 1),
                             peak_rss_mb=round(enc_peak, 1))
    RESULTS["ingest"].update(seconds=round(ingest_s, 3), chunks_per_s=round(len(chunks) / ingest_s, 1),
                             ratio_to_encode=round(ratio, 3), embedded=embedded, rounds=len(rounds),
                             peak_rss_mb=round(ing_peak, 1))
    print(f"encode   {len(texts) / encode_s:>7.1f} chunks/s  ({encode_s:.2f}s)  peak RSS {enc_peak:.0f} MB")
    print(f"ingest   {len(chunks) / ingest_s:>7.1f} chunks/s  ({ingest_s:.2f}s)  ratio to plain encode "
          f"{ratio:.3f} (target >= 0.9)  peak RSS {ing_peak:.0f} MB")
    assert embedded == len(chunks), (embedded, len(chunks))

    # 4. re-sync, nothing changed
    with step("resync") as s:
        again = ingest_workspace(kb, ws)
    speedup = ingest_s / s.seconds  # the first sync of the same corpus took ingest_s in all
    RESULTS["resync"].update(speedup=round(speedup, 1), summary=again.as_dict())
    print(f"resync   {s.seconds:.3f}s  embedded {again.embedded}  {speedup:.0f}x faster than the first sync "
          f"(target >= 50x)  peak RSS {s.mem.peak_mb:.0f} MB")
    kb.close()
    shutil.rmtree(tmp / "ingest", ignore_errors=True)

    # 5. a store of args.points points: real embeddings + perturbed copies
    rng = np.random.default_rng(11)
    base = np.asarray(plain, dtype=np.float32)
    n_extra = max(0, args.points - len(base))
    projects = [f"Q{p:03d}" for p in range(20)]
    kinds = ["story", "criterion", "page_section", "test_case"]
    with step("scale") as s:
        vectors = np.concatenate([base, perturbed(base, n_extra, rng, sigma=0.02)])[: args.points]
        store = EmbeddedStore(tmp / "scale" / "store", embedder.dim)
        bm25_docs = kb.bm25.documents(texts)
        batch = 2000
        for start in range(0, len(vectors), batch):
            part = vectors[start:start + batch]
            batch_chunks = []
            sparse = []
            for n in range(start, start + len(part)):
                src = chunks[n % len(chunks)]
                batch_chunks.append(Chunk(id=f"bench:{n}", kind=kinds[n % 4], source_id=f"S{n // 7}",
                                          title=src.title, text=src.text[:200], project=projects[n % 20]))
                sparse.append(bm25_docs[n % len(chunks)])
            store.upsert(batch_chunks, part, sparse)
        t_opt = time.perf_counter()
        store.flush()
        store.optimize()
        optimize_s = time.perf_counter() - t_opt
    RESULTS["scale"].update(points=int(len(vectors)), real_embeddings=int(min(len(base), len(vectors))),
                            perturbed=int(max(0, len(vectors) - len(base))), optimize_s=round(optimize_s, 2),
                            segments=store.shard.info().segments_count,
                            indexed_vectors=store.shard.info().indexed_vectors_count)
    print(f"scale    {len(vectors)} points ({min(len(base), len(vectors))} real embeddings, rest perturbed) in "
          f"{s.seconds:.1f}s (optimise/index {optimize_s:.1f}s)  peak RSS {s.mem.peak_mb:.0f} MB")

    # 6. filtered top-10 queries
    qrng = Random(5)
    query_texts = [f"{c.title}: {c.text[:160]}" for c in qrng.sample(chunks, min(args.queries, len(chunks)))]
    with step("query_embedding") as s:
        qvecs = embedder.encode(query_texts)
    per_query_embed_ms = s.seconds * 1000 / len(query_texts)
    single = timed_queries(lambda t: embedder.encode([t]), query_texts[:30])
    RESULTS["query_embedding"].update(batched_ms_per_query=round(per_query_embed_ms, 2),
                                      single_query_p50_ms=round(percentile(single, 0.5), 2))
    filters = [Filters(projects=[projects[n % 20]]) for n in range(len(qvecs))]
    with step("query") as s:
        exact_ids = [[h.chunk_id for h in store.dense_search(v, f, 10, exact=True)] for v, f in zip(qvecs, filters)]
        lat = {}

        def run(fn):
            idx = iter(range(len(qvecs)))
            return timed_queries(lambda v: fn(v, filters[next(idx)]), qvecs)

        for name, fn in {
            "planner (HNSW / payload index)": lambda v, f: store.dense_search(v, f, 10),
            "exact": lambda v, f: store.dense_search(v, f, 10, exact=True),
        }.items():
            run(fn)  # warm
            lat[name] = run(fn)
        approx_ids = [[h.chunk_id for h in store.dense_search(v, f, 10)] for v, f in zip(qvecs, filters)]
        sparse_q = [kb.bm25.query(t) for t in query_texts]
        hybrid_idx = {"i": 0}

        def hybrid(v, f):
            i = hybrid_idx["i"] % len(sparse_q)
            hybrid_idx["i"] += 1
            return store.search(v, sparse_q[i], filters=f, limit=10)

        run(hybrid)
        hybrid_idx["i"] = 0
        lat["hybrid dense+BM25 RRF (+dedupe)"] = run(hybrid)
        # for comparison: the same queries without a filter (here the planner walks the HNSW graph)
        unfiltered_exact = [[h.chunk_id for h in store.dense_search(v, None, 10, exact=True)] for v in qvecs]
        for name, exact in (("unfiltered HNSW", False), ("unfiltered exact", True)):
            timed_queries(lambda v: store.dense_search(v, None, 10, exact=exact), qvecs[:20])  # warm
            lat[name] = timed_queries(lambda v: store.dense_search(v, None, 10, exact=exact), qvecs)
        unfiltered_hnsw = [[h.chunk_id for h in store.dense_search(v, None, 10)] for v in qvecs]
        timed_queries(lambda v: store.dense_search(v, None, 10, hnsw_ef=256), qvecs[:20])  # warm
        lat["unfiltered HNSW ef=256"] = timed_queries(lambda v: store.dense_search(v, None, 10, hnsw_ef=256), qvecs)
        unfiltered_ef = [[h.chunk_id for h in store.dense_search(v, None, 10, hnsw_ef=256)] for v in qvecs]
    recall = statistics.mean(len(set(a) & set(e)) / max(1, len(e)) for a, e in zip(approx_ids, exact_ids))
    recall_unfiltered = statistics.mean(len(set(a) & set(e)) / max(1, len(e))
                                        for a, e in zip(unfiltered_hnsw, unfiltered_exact))
    recall_ef = statistics.mean(len(set(a) & set(e)) / max(1, len(e)) for a, e in zip(unfiltered_ef, unfiltered_exact))
    RESULTS["query"]["recall_at_10_unfiltered_hnsw"] = round(recall_unfiltered, 4)
    RESULTS["query"]["recall_at_10_unfiltered_hnsw_ef256"] = round(recall_ef, 4)
    RESULTS["query"].update(queries=len(qvecs), filter="one project of 20 (~5% of points)",
                            recall_at_10=round(recall, 4))
    print(f"query    {len(qvecs)} filtered top-10 queries on {len(vectors)} points; query embedding "
          f"{per_query_embed_ms:.1f} ms/query batched, {percentile(single, 0.5):.1f} ms single (not included below)")
    for name, times in lat.items():
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        RESULTS["query"][name] = {"p50_ms": round(p50, 3), "p95_ms": round(p95, 3)}
        print(f"         {name:<34} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    print(f"         recall@10 planner vs exact: {recall:.4f} filtered (target >= 0.95), "
          f"{recall_unfiltered:.4f} unfiltered HNSW, {recall_ef:.4f} with ef=256  peak RSS {s.mem.peak_mb:.0f} MB")
    store.close()
    RESULTS["setup"]["load_average_end"] = round(os.getloadavg()[0], 2)
    shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(RESULTS, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""Latency benchmark: re-rank 200 candidates for one shopper with history; prints p50/p95.

It builds a throw-away SQLite store in a temporary folder from an ITEMS file (id + text), gives one
shopper a history of purchase events, copies nothing: the checkpoint is read from ``--model``.
After a warm-up call (which encodes the 200 candidate items once, as a server does on first
sight), every timed call is a full turn: read the history from the event store, build the
context, one encoder pass, score, sort. Between calls a click on one of the shown candidates is
written, so no call can reuse the previous one's history (a click on an item never shown costs one
more item encoding, ~10-80 ms, the first time).

Usage::

    python -m eval.rerank_bench --items ../shared/data/amazon-scientific-sequences/items.csv \\
        --model var/models/scientific --runs 50 --threads 2

Output (one line per number, then JSON): p50_ms, p95_ms, mean_ms, runs, candidates.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def run_benchmark(items: Path, model: Path, runs: int = 50, candidates: int = 200, history: int = 8,
                  threads: int = 2, seed: int = 7, backend: str = "onnx") -> dict:
    """Time ``runs`` re-rankings of ``candidates`` items; returns the numbers as a dict."""
    from catalog.events import EventStore
    from catalog.records import Event, Product
    from catalog.settings import Settings
    from catalog.store import Store
    from ranking.checkpoint import Checkpoint
    from ranking.ranker import Ranker, model_root
    from ranking.sequences import load_items
    from retrieval.search import SearchHit

    texts = load_items(items)
    rng = random.Random(seed)
    chosen = rng.sample(sorted(texts), min(len(texts), candidates + history + runs))
    products = [Product(id=i, title=texts[i][:300]) for i in chosen]
    tmp = Path(tempfile.mkdtemp(prefix="rerank-bench-"))
    try:
        settings = Settings(data_dir=tmp, torch_threads=threads, ranker_backend=backend)
        ckpt = Checkpoint.load(model)
        shutil.copytree(ckpt.path, model_root(settings) / ckpt.version, ignore=shutil.ignore_patterns("cache"))
        store = Store.from_settings(settings)
        store.upsert_products(products)
        events = EventStore(store)
        user = "u_benchmark"
        events.add_many(Event(user=user, item_id=p.id, kind="purchase") for p in products[:history])
        pool = products[history:history + candidates]
        hits = [SearchHit(p, rng.random(), {}) for p in pool]
        ranker = Ranker.from_settings(settings, store)
        ranker.rerank(user, "safety gloves", hits, k=10)  # warm-up: item vectors of the candidates
        timings = []
        # each timed turn follows a click on one of the shown candidates (as in the UI), so the history
        # changes every call but its items are already in the item cache (the mix needs their vectors)
        for n in range(runs):
            events.add(Event(user=user, item_id=pool[(n * 7) % len(pool)].id, kind="click"))
            started = time.perf_counter()
            ranker.rerank(user, "safety gloves", hits, k=10)
            timings.append((time.perf_counter() - started) * 1000)
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    timings.sort()
    return {"p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 1),
            "mean_ms": round(statistics.fmean(timings), 1), "runs": runs, "candidates": len(hits),
            "threads": threads, "model": ckpt.version, "backend": backend}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=Path, required=True, help="ITEMS CSV (id + text)")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint version folder or folder of versions")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=("onnx", "torch"), default="onnx",
                        help="runtime of the per-turn user-tower pass (the served default is onnx)")
    args = parser.parse_args()
    result = run_benchmark(args.items, args.model, args.runs, args.candidates, threads=args.threads,
                           backend=args.backend)
    for key in ("p50_ms", "p95_ms", "mean_ms"):
        print(f"{key}: {result[key]}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

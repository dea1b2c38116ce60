"""Search latency and ANN recall benchmark (not a test: it prints numbers for docs/search.md).

    python -m eval.search_bench --data-dir var/eval-cache/<hash> --queries queries.csv [--n 300] \
        [--reranker var/models/reranker]

One query at a time, warm: p50/p95 of hybrid search (k=50, products fetched from the store) and
of each stage; with ``--reranker``, of hybrid+rerank too (the same search with the newest good
re-ranker under that root); and recall@50 of Chroma's HNSW against exact cosine search.

    python -m eval.search_bench --data-dir var/eval-cache/<hash> --queries queries.csv --n 200 \
        --reranker var/models/reranker --scale 10000,50000,200000 --plot docs/search_scale.png

``--scale``: the scale curve and filtered-search recall on synthetic catalogs of those sizes made
from the data folder's products (``eval.search_scale``).
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from catalog.settings import Settings
from retrieval.search import ProductSearch


def percentiles(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(samples, 50)), 2), "p95_ms": round(float(np.percentile(samples, 95)), 2)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding shopassist.db, chroma/, bm25/")
    parser.add_argument("--queries", type=Path, required=True, help="CSV with a 'query' column")
    parser.add_argument("--n", type=int, default=300, help="queries to time")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    parser.add_argument("--reranker", type=Path, default=None, help="re-ranker root: also time hybrid+rerank")
    parser.add_argument("--scale", default=None, help="comma-separated catalog sizes for the scale curve")
    parser.add_argument("--work-dir", type=Path, default=Path("var/scale-bench"), help="where --scale builds")
    parser.add_argument("--jitter", type=float, default=0.02, help="--scale: noise per vector dimension")
    parser.add_argument("--plot", type=Path, default=None, help="--scale: write the latency plot (PNG) here")
    args = parser.parse_args(argv)

    settings = Settings(data_dir=args.data_dir, search_reranker=args.reranker is not None,
                        search_reranker_dir=args.reranker)
    search = ProductSearch.from_settings(settings)
    reranker, search.reranker = search.reranker, None
    with open(args.queries, newline="", encoding="utf-8") as handle:
        queries = [row["query"] for row in csv.DictReader(handle)][: args.n]
    if args.scale:
        from eval.search_scale import plot, run

        results = run(search, [int(n) for n in args.scale.split(",")], queries, args.work_dir, reranker,
                      args.jitter, args.out)
        if args.plot:
            plot(results, args.plot)
        return results
    for query in queries[:10]:  # warm up
        search.search(query, k=args.k)
        if reranker is not None:
            search.reranker = reranker
            search.search(query, k=args.k)
            search.reranker = None

    stages = {"embed": [], "rewrite": [], "bm25": [], "chroma": [], "hybrid_total": [], "hybrid+rerank_total": []}
    for query in queries:
        t0 = time.perf_counter()
        vector = search.embedder.encode([search.dense_text(query)])[0]
        t1 = time.perf_counter()
        text = search.rewritten(query)  # spelling and units (retrieval.query_rewrite), as search does
        t1b = time.perf_counter()
        search.lexical.search(text, search.fusion.depth)
        t2 = time.perf_counter()
        search.vectors.query(vector, search.fusion.depth)
        t3 = time.perf_counter()
        search.search(query, k=args.k)
        t4 = time.perf_counter()
        if reranker is not None:
            search.reranker = reranker
            search.search(query, k=args.k)
            search.reranker = None
        t5 = time.perf_counter()
        for name, value in zip(stages, (t1 - t0, t1b - t1, t2 - t1b, t3 - t2, t4 - t3, t5 - t4)):
            stages[name].append(value * 1000)
    if reranker is None:
        del stages["hybrid+rerank_total"]

    ids = list(search.store.product_hashes())
    matrix_ids, matrix = [], []
    for start in range(0, len(ids), 5000):
        got = search.vectors.vectors(ids[start:start + 5000])
        matrix_ids += list(got)
        matrix += list(got.values())
    matrix = np.stack(matrix)
    recalls = []
    for query in queries[:100]:
        vector = search.embedder.encode([query])[0]
        exact = {matrix_ids[i] for i in np.argsort(-(matrix @ vector))[: args.k]}
        approx = {pid for pid, _ in search.vectors.query(vector, args.k)}
        recalls.append(len(exact & approx) / args.k)

    result = {"products": len(ids), "queries": len(queries), "k": args.k,
              "reranker": str(reranker.folder) if reranker is not None else None,
              "latency": {name: percentiles(values) for name, values in stages.items()},
              "hnsw_recall@50_vs_exact": round(float(np.mean(recalls)), 4)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

"""The search scale curve and filtered-search recall (``python -m eval.search_bench --scale ...``).

For each size N a synthetic catalog is built from a real one (an ingested data folder, e.g. the
Home Depot eval cache): product i copies real product ``i mod n`` with a model-number token added to
its title, and its vector is the real vector plus Gaussian noise (σ = ``jitter`` per dimension),
renormalised. Each synthetic product gets a price (log-uniform $1–$1,000), one of 100 brands and one
of 100 categories, so a category filter keeps 1 % of the catalog. Then, warm, over real queries:

- p50/p95 of hybrid and hybrid+rerank search (k=50), one query at a time and 8 threads at once;
- a 1 % category filter: p50/p95, how many of k come back, and recall@k against exact filtering
  (BM25 over the filtered products, exact cosine over their vectors, the same fusion, then the top k);
  also for plain post-filtering (no facets) for comparison;
- resident memory after the indexes are loaded and searched.

Not a test: it prints numbers for docs/search.md.
"""
from __future__ import annotations

import json
import resource
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store
from retrieval.fusion import fuse
from retrieval.ingest import IndexPaths
from retrieval.lexical_index import LexicalIndex
from retrieval.search import ProductSearch, SearchFilters
from retrieval.vector_index import VectorIndex, open_client

BRANDS = [f"brand{i:02d}" for i in range(100)]
CATEGORIES = [f"department {i:02d}" for i in range(100)]


def percentiles(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(samples, 50)), 1), "p95_ms": round(float(np.percentile(samples, 95)), 1)}


def source_catalog(search: ProductSearch) -> tuple[list[Product], np.ndarray]:
    """The real products and their vectors (same order)."""
    products = list(search.store.iter_products())
    vectors = []
    for start in range(0, len(products), 5000):
        ids = [p.id for p in products[start:start + 5000]]
        got = search.vectors.vectors(ids)
        vectors += [got[i] for i in ids]
    return products, np.stack(vectors)


def synthesize(products: list[Product], vectors: np.ndarray, n: int, jitter: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    out, rows = [], np.empty((n, vectors.shape[1]), dtype=np.float32)
    prices = np.exp(rng.uniform(0, np.log(1000), n))
    for i in range(n):
        real = products[i % len(products)]
        copy = i // len(products)
        title = real.title if copy == 0 else f"{real.title} m{copy}x{i % 997}"
        out.append(Product(id=f"s{i}", title=title, price=round(float(prices[i]), 2), currency="USD",
                           brand=BRANDS[i % 100], category=[CATEGORIES[(i * 7 + 3) % 100]]))
    for start in range(0, n, 50_000):
        idx = np.arange(start, min(n, start + 50_000))
        block = vectors[idx % len(products)] + (rng.normal(0, jitter, (len(idx), vectors.shape[1])) if jitter else 0)
        rows[idx] = block / np.linalg.norm(block, axis=1, keepdims=True)
    first = min(n, len(products))
    rows[:first] = vectors[:first]  # the first copy is the real catalog, real vectors
    return out, rows


def build(folder: Path, products: list[Product], vectors: np.ndarray, embedder) -> tuple[ProductSearch, dict]:
    if folder.exists():
        shutil.rmtree(folder)
    settings = Settings(data_dir=folder)
    store = Store.from_settings(settings)
    seconds = {}
    t = time.perf_counter()
    hashes = {p.id: p.content_hash() for p in products}
    for start in range(0, len(products), 5000):
        store.upsert_products(products[start:start + 5000], hashes)
    seconds["store"] = time.perf_counter() - t
    paths = IndexPaths.for_settings(settings)
    index = VectorIndex(open_client(paths.chroma), paths.collection(embedder), embedder)
    t = time.perf_counter()
    index.upsert([p.id for p in products], vectors, [hashes[p.id] for p in products], products)
    seconds["chroma"] = time.perf_counter() - t
    t = time.perf_counter()
    LexicalIndex.build(products, store.fingerprint()).save(paths.bm25)
    seconds["bm25"] = time.perf_counter() - t
    search = ProductSearch(store, embedder, index, LexicalIndex.load(paths.bm25), bm25_folder=paths.bm25)
    return search, {k: round(v, 1) for k, v in seconds.items()}


def timed(fn, queries: list[str], threads: int = 1) -> list[float]:
    def one(query: str) -> float:
        t = time.perf_counter()
        fn(query)
        return (time.perf_counter() - t) * 1000

    if threads == 1:
        return [one(q) for q in queries]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, queries))


def exact_filtered(search: ProductSearch, vectors: np.ndarray, query: str, filters: SearchFilters, k: int) -> list[str]:
    """The top ``k`` among the products ``filters`` accept, with exhaustive BM25 and cosine."""
    lexical = search.lexical
    mask = lexical.facets.mask(filters, lexical.ids)
    allowed = np.flatnonzero(mask)
    depth = search.fusion.depth
    bm25 = lexical.search(query, depth, mask)
    vector = search.embedder.encode([query])[0]
    row_of = {pid: int(pid[1:]) for pid in (lexical.ids[i] for i in allowed)}
    ids = list(row_of)
    cos = vectors[[row_of[i] for i in ids]] @ vector
    top = np.argsort(-cos)[:depth]
    fused = fuse(bm25, [(ids[i], float(cos[i])) for i in top], search.fusion)
    order = sorted(fused, key=fused.__getitem__, reverse=True)
    products = search.store.get_products(order[: 4 * k])
    return [pid for pid in order[: 4 * k] if pid in products and filters.accepts(products[pid])][:k]


def measure(search: ProductSearch, vectors: np.ndarray, queries: list[str], reranker, k: int = 50) -> dict:
    out = {}
    for q in queries[:10]:
        search.search(q, k=k)
    for name, rr in (("hybrid", None), ("hybrid+rerank", reranker)):
        if name == "hybrid+rerank" and rr is None:
            continue
        search.reranker = rr
        search.search(queries[0], k=k)
        out[name] = {"1_thread": percentiles(timed(lambda q: search.search(q, k=k), queries)),
                     "8_parallel": percentiles(timed(lambda q: search.search(q, k=k), queries * 2, threads=8))}
    search.reranker = None
    filters = SearchFilters(category=CATEGORIES[42])
    filtered, recalls, returned, post_recalls, post_returned = [], [], [], [], []
    for q in queries[:100]:
        t = time.perf_counter()
        got = [h.product.id for h in search.search(q, filters, k=k)]
        filtered.append((time.perf_counter() - t) * 1000)
        exact = exact_filtered(search, vectors, q, filters, k)
        returned.append(len(got))
        recalls.append(len(set(got) & set(exact)) / len(exact) if exact else 1.0)
        facets, search.lexical.facets = search.lexical.facets, None
        post = [h.product.id for h in search.search(q, filters, k=k)]
        search.lexical.facets = facets
        post_returned.append(len(post))
        post_recalls.append(len(set(post) & set(exact)) / len(exact) if exact else 1.0)
    share = float(search.lexical.facets.mask(filters, search.lexical.ids).mean())
    out["filtered_1pct"] = {"filter_keeps": round(share, 4), **percentiles(filtered),
                            "returned_mean": round(float(np.mean(returned)), 1),
                            "recall@k_vs_exact": round(float(np.mean(recalls)), 4),
                            "post_filter_only": {"returned_mean": round(float(np.mean(post_returned)), 1),
                                                 "recall@k_vs_exact": round(float(np.mean(post_recalls)), 4)}}
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def run(source: ProductSearch, sizes: list[int], queries: list[str], work_dir: Path, reranker,
        jitter: float = 0.02, out: Path | None = None) -> dict:
    products, vectors = source_catalog(source)
    results = {"source_products": len(products), "jitter": jitter, "queries": len(queries), "sizes": {}}
    for n in sizes:
        synthetic, rows = synthesize(products, vectors, n, jitter)
        t = time.perf_counter()
        search, seconds = build(work_dir / f"n{n}", synthetic, rows, source.embedder)
        entry = {"build_seconds": seconds, "build_total_s": round(time.perf_counter() - t, 1)}
        entry.update(measure(search, rows, queries, reranker))
        results["sizes"][str(n)] = entry
        print(json.dumps({n: entry}), flush=True)
        search.store.close()
        shutil.rmtree(work_dir / f"n{n}", ignore_errors=True)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2))
    return results


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results["sizes"], key=int)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for system, style in (("hybrid", "-"), ("hybrid+rerank", "--")):
        for mode, marker in (("1_thread", "o"), ("8_parallel", "s")):
            pts = [(int(n), results["sizes"][n].get(system, {}).get(mode)) for n in sizes]
            pts = [(n, v) for n, v in pts if v]
            if pts:
                ax.plot([n for n, _ in pts], [v["p50_ms"] for _, v in pts], style, marker=marker,
                        label=f"{system}, {mode.replace('_', ' ')} p50")
    ax.set_xscale("log")
    ax.set_xlabel("products")
    ax.set_ylabel("latency per query (ms)")
    ax.set_title("shopassist search latency, 2-core CPU")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)

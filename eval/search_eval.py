"""Offline search evaluation on graded judgments (``shopassist eval search``).

For every query, each system retrieves from the whole catalog; metrics per system:
NDCG@10 (gain = relevance, unjudged = 0), Recall@100 and MRR@10 of items with relevance ≥ the
threshold, and rerank-NDCG@10 (NDCG@10 when ordering only that query's judged items, i.e. how well
the system's scores order known candidates). Indexes are cached under
``<cache>/<catalog content hash>/`` so a second run does not re-embed.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from catalog.loaders import LoaderError, load_products
from catalog.settings import Settings
from catalog.store import Store
from eval.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from retrieval.embedder import Embedder
from retrieval.ingest import IndexPaths, ingest_products
from retrieval.lexical_index import LexicalIndex
from retrieval.search import FusionConfig, ProductSearch
from retrieval.vector_index import VectorIndex, open_client

SYSTEMS = ("bm25", "dense", "hybrid")


@dataclass
class Judgments:
    queries: dict[str, str]  # query_id -> text
    gains: dict[str, dict[str, float]]  # query_id -> item_id -> relevance


def load_judgments(path: str | Path) -> Judgments:
    """Read ``query_id, query, item_id, relevance`` rows (CSV, optionally gzipped)."""
    path = Path(path)
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        needed = {"query_id", "query", "item_id", "relevance"}
        if not reader.fieldnames or not needed <= set(reader.fieldnames):
            raise LoaderError(f"{path}: judgments need columns {sorted(needed)}; found {reader.fieldnames}")
        queries: dict[str, str] = {}
        gains: dict[str, dict[str, float]] = defaultdict(dict)
        for row in reader:
            queries[row["query_id"]] = row["query"]
            gains[row["query_id"]][row["item_id"]] = float(row["relevance"])
    return Judgments(queries, dict(gains))


def file_hash(path: Path, mapping: dict | None) -> str:
    digest = hashlib.sha256(json.dumps(mapping or {}, sort_keys=True).encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def open_cached_search(catalog: Path, mapping: dict | None, cache_dir: Path, embedder: Embedder,
                       fusion: FusionConfig) -> tuple[ProductSearch, int, float]:
    """Build (once) or reopen the store and indexes for ``catalog``; returns (search, items, build seconds)."""
    folder = cache_dir / file_hash(catalog, mapping)
    settings = Settings(data_dir=folder)
    store = Store.from_settings(settings)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma), paths.collection(embedder), embedder)
    started = time.perf_counter()
    done_marker = folder / f"complete-{paths.collection(embedder)}"
    if not done_marker.exists():
        loaded = load_products(catalog, mapping)
        for error in loaded.errors[:5]:
            print(f"skipped {error}")
        ingest_products(store, vectors, embedder, loaded.products, paths.bm25, enrich=None, progress=True)
        done_marker.touch()
    search = ProductSearch(store, embedder, vectors, LexicalIndex.load(paths.bm25), fusion)
    return search, store.count_products(), time.perf_counter() - started


def evaluate(search: ProductSearch, judgments: Judgments, threshold: float = 2.5,
             systems=SYSTEMS, progress: bool = True) -> dict:
    """Per-system mean metrics. Each query is embedded and searched once; all systems are derived
    from the same candidate lists (the hybrid list is exactly what ``ProductSearch`` serves)."""
    sums: dict[str, dict[str, float]] = {s: defaultdict(float) for s in systems}
    depth = max(search.fusion.depth, 100)
    for qid in tqdm(judgments.queries, desc="queries", disable=not progress):
        query, gains = judgments.queries[qid], judgments.gains[qid]
        relevant = {i for i, g in gains.items() if g >= threshold}
        hybrid, _, raw = search.candidates(query, "hybrid", depth)
        rankings = {"bm25": list(raw["bm25"]), "dense": list(raw["dense"]), "hybrid": hybrid}
        for system in systems:
            ranked = rankings[system][:100]
            m = sums[system]
            m["ndcg@10"] += ndcg_at_k(ranked, gains, 10)
            m["recall@100"] += recall_at_k(ranked, relevant, 100)
            m["mrr@10"] += mrr_at_k(ranked, relevant, 10)
            position = {pid: r for r, pid in enumerate(ranked)}
            judged = sorted(gains, key=lambda i: (position.get(i, len(ranked)), i))
            m["rerank-ndcg@10"] += ndcg_at_k(judged, gains, 10)
    n = max(1, len(judgments.queries))
    return {s: {k: round(v / n, 4) for k, v in sums[s].items()} for s in systems}


def print_table(metrics: dict, echo: Callable[[str], None] = print) -> None:
    columns = ("ndcg@10", "recall@100", "mrr@10", "rerank-ndcg@10")
    echo(f"{'system':<16}" + "".join(f"{c:>16}" for c in columns))
    for system, values in metrics.items():
        echo(f"{system:<16}" + "".join(f"{values.get(c, 0):>16.4f}" for c in columns))

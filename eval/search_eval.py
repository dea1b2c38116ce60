"""Offline search evaluation on graded judgments (``shopassist eval search``).

For every query, each system retrieves from the whole catalog; metrics per system:
NDCG@10 (gain = relevance, unjudged = 0), Recall@100 and MRR@10 of items with relevance ≥ the
threshold, and rerank-NDCG@10 (NDCG@10 when ordering only that query's judged items, i.e. how well
the system's scores order known candidates). Recall and MRR are averaged over the queries that have
at least one relevant item (on Home Depot 18 % have none: no system can find one for them); the same
means over every query, with those queries counted as 0 (how this command reported them before),
are kept as ``recall@100 (all queries)`` and ``mrr@10 (all queries)``. Indexes are cached under
``<cache>/<catalog content hash>/`` (``retrieval.catalog_cache``) so a second run does not re-embed.

With a re-ranker, ``hybrid+rerank`` re-orders the same hybrid candidates (the first ``depth``: its
Recall@100 is that of the re-ordered list's top 100; ``recall@<depth> (pool)`` is the Recall of the
whole pool it re-orders, the most any re-ordering could reach). A query the re-ranker was
trained on is scored by its fold model (trained without that query): the number on the training
judgments is cross-validated, not a training score. Other queries get the full model.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tqdm import tqdm

from eval.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from retrieval.catalog_cache import file_hash, open_cached_search  # noqa: F401 - the eval's entry points
from retrieval.judgments import Judgments, load_judgments  # noqa: F401
from retrieval.rerank_features import Candidates
from retrieval.reranker import Reranker
from retrieval.search import ProductSearch

SYSTEMS = ("bm25", "dense", "hybrid")


def evaluate(search: ProductSearch, judgments: Judgments, threshold: float = 2.5,
             systems=SYSTEMS, progress: bool = True, reranker: Reranker | None = None,
             candidates: dict[str, Candidates] | None = None) -> dict:
    """Per-system mean metrics. Each query is embedded and searched once; all systems are derived
    from the same candidate lists (the hybrid list is exactly what ``ProductSearch`` serves), or from
    ``candidates`` (``retrieval.catalog_cache.cached_candidates`` of the same indexes, depth
    :func:`candidate_depth`). With ``reranker``, ``hybrid+rerank`` is added (cross-validated on its
    training queries)."""
    systems = tuple(systems) + (("hybrid+rerank",) if reranker is not None else ())
    sums: dict[str, dict[str, float]] = {s: defaultdict(float) for s in systems}
    depth = candidate_depth(search)
    with_relevant = 0
    for qid in tqdm(judgments.queries, desc="queries", disable=not progress):
        query, gains = judgments.queries[qid], judgments.gains[qid]
        relevant = {i for i, g in gains.items() if g >= threshold}
        with_relevant += bool(relevant)
        if candidates is not None:
            c = candidates[qid]
            hybrid, fused, raw = c.order, c.fused, {"bm25": c.bm25, "dense": c.dense}
        else:
            hybrid, fused, raw = search.candidates(query, "hybrid", depth)
        rankings = {"bm25": list(raw["bm25"]), "dense": list(raw["dense"]), "hybrid": hybrid}
        if reranker is not None:
            products = search.store.get_products(hybrid[:reranker.depth])
            pool = Candidates(hybrid, fused, raw["bm25"], raw["dense"],
                              query=c.query if candidates is not None else search.rewritten(query))
            rankings["hybrid+rerank"], _ = reranker.reorder(query, pool, products, search.lexical,
                                                            cross_validated=True)
        if reranker is not None:  # what the re-ranker could reach: Recall of the whole re-ranked pool
            sums["hybrid+rerank"][f"recall@{reranker.depth} (pool)"] += recall_at_k(hybrid, relevant, reranker.depth)
        for system in systems:
            ranked = rankings[system][:100]
            m = sums[system]
            m["ndcg@10"] += ndcg_at_k(ranked, gains, 10)
            m["recall@100"] += recall_at_k(ranked, relevant, 100)
            m["mrr@10"] += mrr_at_k(ranked, relevant, 10)
            position = {pid: r for r, pid in enumerate(ranked)}
            judged = sorted(gains, key=lambda i: (position.get(i, len(ranked)), i))
            m["rerank-ndcg@10"] += ndcg_at_k(judged, gains, 10)
    n, n_relevant = max(1, len(judgments.queries)), max(1, with_relevant)
    out = {}
    for system in systems:
        out[system] = {}
        for name, total in sums[system].items():
            if name.startswith(("recall", "mrr")):  # defined only for queries with something to find
                out[system][name] = round(total / n_relevant, 4)
                out[system][f"{name} (all queries)"] = round(total / n, 4)
            else:
                out[system][name] = round(total / n, 4)
    return out


def candidate_depth(search: ProductSearch) -> int:
    """Candidates taken from each system (at least 100, for Recall@100)."""
    return max(search.fusion.depth, 100)


def print_table(metrics: dict, echo: Callable[[str], None] = print) -> None:
    columns = ("ndcg@10", "recall@100", "mrr@10", "rerank-ndcg@10")
    echo(f"{'system':<16}" + "".join(f"{c:>16}" for c in columns))
    for system, values in metrics.items():
        echo(f"{system:<16}" + "".join(f"{values.get(c, 0):>16.4f}" for c in columns))
    for system, values in metrics.items():
        for name, value in values.items():
            if name not in columns:
                echo(f"{system}: {name} {value:.4f}")

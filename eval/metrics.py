"""Ranking metrics for one ranked list. Average them over queries or users yourself.

``ranked`` is the system's list of ids, best first. ``gains`` maps id -> graded relevance
(missing ids count 0). ``relevant`` is the set of ids that count as hits.

Example::

    >>> round(ndcg_at_k(["a", "b"], {"b": 1.0}, k=10), 4)
    0.6309
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg_at_k(ranked: Sequence[str], gains: Mapping[str, float], k: int) -> float:
    """Sum of gain / log2(rank + 1) over the first k positions (linear gain)."""
    return sum(gains.get(item, 0.0) / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]))


def ndcg_at_k(ranked: Sequence[str], gains: Mapping[str, float], k: int) -> float:
    """DCG@k divided by the DCG of the ideal ordering of all judged items; 0 when nothing has gain."""
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg_at_k(ranked, gains, k) / best if best > 0 else 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of relevant ids found in the first k; 0 when there are none to find."""
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int | None = None) -> float:
    """1 / rank of the first relevant id within the first k (all when k is None), else 0."""
    for rank, item in enumerate(ranked if k is None else ranked[:k]):
        if item in relevant:
            return 1.0 / (rank + 1)
    return 0.0


def hit_rate_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 if any relevant id is in the first k, else 0."""
    return 1.0 if relevant.intersection(ranked[:k]) else 0.0

"""Fusing the BM25 and dense rankings into one.

Two methods, both over each system's top ``depth`` candidates:

- ``rrf``: weighted reciprocal rank fusion, ``sum_s w_s / (k + rank_s)`` (Cormack et al., SIGIR 2009).
- ``convex``: ``w_bm25 * norm(bm25) + w_dense * norm(cos)``, each score min-max normalised over the
  system's candidates (a candidate missing from a list scores 0 there).

``eval/tune_fusion.py`` picks the method and weights on half the Home Depot queries and reports
the other half (docs/search.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FusionConfig:
    """How to fuse; defaults are the tuned values in docs/search.md."""

    method: Literal["rrf", "convex"] = "convex"
    k: int = 60  # rrf only
    bm25_weight: float = 1.0
    dense_weight: float = 0.3
    depth: int = 200  # candidates taken from each system


def fuse(lexical: list[tuple[str, float]], dense: list[tuple[str, float]], config: FusionConfig) -> dict[str, float]:
    """Fused score per candidate id (higher is better)."""
    fused: dict[str, float] = {}
    for ranked, weight in ((lexical, config.bm25_weight), (dense, config.dense_weight)):
        if not ranked or weight == 0:
            continue
        if config.method == "rrf":
            for rank, (pid, _) in enumerate(ranked):
                fused[pid] = fused.get(pid, 0.0) + weight / (config.k + rank + 1)
        else:
            top, bottom = ranked[0][1], ranked[-1][1]
            span = (top - bottom) or 1.0
            for pid, score in ranked:
                fused[pid] = fused.get(pid, 0.0) + weight * (score - bottom) / span
    return fused

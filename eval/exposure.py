"""Fairness and diversity of what was shown (``eval replay`` and ``eval report``).

``lists`` are the shown product-id lists, best first, one per turn.

* **coverage**: distinct shown ids / catalog size.
* **brand Gini**: Gini coefficient of position-weighted exposure (1/log2(position + 1)) over every
  brand of the catalog (a brand never shown counts 0): 0 = every brand equally exposed, →1 = one
  brand gets it all. None when the catalog has no brands.
* **popularity percentile**: mean, over shown items, of the item's popularity percentile in the
  catalog (mid-rank of its event count: ties share the middle): 0.5 = as popular as a random item.
* **intra-list diversity**: mean over lists of ≥ 2 items of the mean pairwise ``1 - cosine`` of the
  items' vectors.

Example::

    >>> gini([1.0, 1.0])
    0.0
    >>> gini([0.0, 0.0, 0.0, 1.0])
    0.75
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient of non-negative values (None when empty or all zero)."""
    x = np.sort(np.asarray(values, dtype=float))
    if not len(x) or x.sum() <= 0:
        return None
    n = len(x)
    ranks = np.arange(1, n + 1)
    return round(float(2 * (ranks * x).sum() / (n * x.sum()) - (n + 1) / n), 5)


def coverage(lists: Sequence[Sequence[str]], catalog_size: int) -> float | None:
    if catalog_size <= 0:
        return None
    return round(len({i for shown in lists for i in shown}) / catalog_size, 5)


def brand_gini(lists: Sequence[Sequence[str]], brand_of: Mapping[str, str | None]) -> float | None:
    """Gini of position-weighted exposure over all brands in ``brand_of`` (id -> brand, the catalog)."""
    brands = {b for b in brand_of.values() if b}
    if not brands:
        return None
    exposure = Counter({b: 0.0 for b in brands})
    for shown in lists:
        for position, item in enumerate(shown, 1):
            brand = brand_of.get(item)
            if brand:
                exposure[brand] += 1.0 / math.log2(position + 1)
    return gini(list(exposure.values()))


def popularity_percentiles(counts: Mapping[str, float], catalog_ids: Sequence[str]) -> dict[str, float]:
    """Each catalog item's mid-rank percentile of its count (items without a count have 0)."""
    values = np.array([counts.get(i, 0.0) for i in catalog_ids], dtype=float)
    order = np.sort(values)
    less = np.searchsorted(order, values, side="left")
    equal = np.searchsorted(order, values, side="right") - less
    n = max(1, len(values))
    return {item: float((lo + 0.5 * eq) / n) for item, lo, eq in zip(catalog_ids, less, equal)}


def mean_popularity_percentile(lists: Sequence[Sequence[str]], percentile: Mapping[str, float]) -> float | None:
    shown = [percentile[i] for s in lists for i in s if i in percentile]
    return round(float(np.mean(shown)), 5) if shown else None


def intra_list_diversity(lists: Sequence[Sequence[str]], vectors: Mapping[str, np.ndarray]) -> float | None:
    per_list = []
    for shown in lists:
        vs = [np.asarray(vectors[i], dtype=float) for i in shown if i in vectors]
        if len(vs) < 2:
            continue
        m = np.stack(vs)
        m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        sims = m @ m.T
        n = len(vs)
        per_list.append(float((1 - sims)[np.triu_indices(n, 1)].mean()))
    return round(float(np.mean(per_list)), 5) if per_list else None


def exposure_report(lists: Sequence[Sequence[str]], catalog_ids: Sequence[str], brand_of: Mapping[str, str | None],
                    counts: Mapping[str, float], vectors: Mapping[str, np.ndarray]) -> dict[str, float | None]:
    """All four numbers for one set of shown lists."""
    return {"catalog_coverage": coverage(lists, len(catalog_ids)),
            "brand_exposure_gini": brand_gini(lists, brand_of),
            "mean_popularity_percentile": mean_popularity_percentile(lists, popularity_percentiles(counts, catalog_ids)),
            "intra_list_diversity": intra_list_diversity(lists, vectors)}

"""Small statistics for the evaluations: latency percentiles and bootstrap confidence intervals.

Example::

    >>> percentiles([1.0, 2.0, 3.0, 4.0])
    {'p50_ms': 2.5, 'p95_ms': 3.85, 'p99_ms': 3.97}
    >>> paired_bootstrap([1, 1, 1], [0, 0, 0])["diff"]
    1.0
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (numpy's linear interpolation), None for all when there are no samples."""
    if not len(samples):
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    values = np.asarray(samples, dtype=float)
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 3) for q in (50, 95, 99)}


def mean_ci(values: Sequence[float], n: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, float | None]:
    """Mean and a percentile bootstrap interval (resampling the values with replacement)."""
    if not len(values):
        return {"mean": None, "low": None, "high": None}
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(n, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return {"mean": round(float(data.mean()), 5), "low": round(float(np.percentile(means, tail)), 5),
            "high": round(float(np.percentile(means, 100 - tail)), 5)}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], n: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict[str, float | int | None]:
    """Mean of ``a - b`` over paired items with a bootstrap interval; ``significant`` when 0 is outside it."""
    if len(a) != len(b):
        raise ValueError(f"paired samples need the same length ({len(a)} != {len(b)})")
    ci = mean_ci([x - y for x, y in zip(a, b)], n=n, seed=seed, level=level)
    significant = ci["low"] is not None and (ci["low"] > 0 or ci["high"] < 0)
    return {"diff": ci["mean"], "low": ci["low"], "high": ci["high"], "pairs": len(a), "significant": significant}

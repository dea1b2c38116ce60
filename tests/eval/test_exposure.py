"""Fairness and diversity numbers (eval/exposure.py) against hand computation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from eval.exposure import brand_gini, coverage, exposure_report, gini, popularity_percentiles

LISTS = [["a", "b"], ["a", "c"]]
BRANDS = {"a": "X", "b": "X", "c": "Y", "d": "Z"}
COUNTS = {"a": 5, "b": 1, "c": 1}
VECTORS = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0]), "c": np.array([2.0, 0.0])}


def _gini_by_pairs(x):
    n, mean = len(x), sum(x) / len(x)
    return sum(abs(a - b) for a in x for b in x) / (2 * n * n * mean)


def test_gini():
    assert gini([1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([]) is None and gini([0, 0]) is None


def test_brand_exposure_gini_is_position_weighted():
    second = 1 / math.log2(3)
    exposure = [1 + second + 1, second, 0.0]  # X: a@1, b@2, a@1; Y: c@2; Z never shown
    assert brand_gini(LISTS, BRANDS) == pytest.approx(_gini_by_pairs(exposure), abs=1e-5)
    assert brand_gini(LISTS, {"a": None}) is None


def test_report_numbers():
    report = exposure_report(LISTS, list(BRANDS), BRANDS, COUNTS, VECTORS)
    assert report["catalog_coverage"] == 0.75  # a, b, c of 4
    # counts sorted 0 (d), 1, 1, 5: a -> (3 + 0.5)/4, b and c -> (1 + 1)/4; shown a, b, a, c
    assert popularity_percentiles(COUNTS, list(BRANDS)) == {"a": 0.875, "b": 0.5, "c": 0.5, "d": 0.125}
    assert report["mean_popularity_percentile"] == pytest.approx((0.875 + 0.5 + 0.875 + 0.5) / 4)
    # (a, b) orthogonal: 1 - 0 = 1; (a, c) same direction: 0
    assert report["intra_list_diversity"] == pytest.approx(0.5)
    assert coverage([], 0) is None

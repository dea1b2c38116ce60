import math

import pytest

from eval.metrics import dcg_at_k, hit_rate_at_k, mrr_at_k, ndcg_at_k, recall_at_k


def test_dcg_by_hand():
    # gains 3, 0, 2 at ranks 1..3: 3/log2(2) + 0 + 2/log2(4) = 3 + 1 = 4
    assert dcg_at_k(["a", "x", "b"], {"a": 3, "b": 2}, 10) == pytest.approx(4.0)


def test_ndcg_by_hand():
    gains = {"a": 3, "b": 2, "c": 1}
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    got = 2 + 3 / math.log2(3)  # order b, a, then an unjudged item
    assert ndcg_at_k(["b", "a", "z"], gains, 10) == pytest.approx(got / ideal)
    assert ndcg_at_k(["a", "b", "c"], gains, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["z"], {}, 10) == 0.0


def test_ndcg_cut_at_k_uses_top_k_ideal():
    gains = {"a": 1, "b": 1, "c": 1}
    assert ndcg_at_k(["a"], gains, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["z", "a"], gains, 1) == 0.0


def test_recall_mrr_hitrate():
    ranked = ["x", "a", "y", "b"]
    assert recall_at_k(ranked, {"a", "b", "c"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, set(), 2) == 0.0
    assert mrr_at_k(ranked, {"b"}, 10) == pytest.approx(0.25)
    assert mrr_at_k(ranked, {"b"}, 3) == 0.0
    assert hit_rate_at_k(ranked, {"y"}, 3) == 1.0
    assert hit_rate_at_k(ranked, {"y"}, 2) == 0.0

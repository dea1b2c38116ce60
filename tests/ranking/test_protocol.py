"""The leave-last-out, full-ranking protocol on cases where the right answer is known."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval.rec_eval import SYSTEMS, evaluate_recommenders, rank_metrics
from ranking.baselines import CoOccurrence, Ease, Popularity
from ranking.blend import BlendFeatures, fit_blend, target_ranks


def test_history_items_are_excluded_from_the_ranking():
    # items 0 and 1 (the history) score highest, but they cannot be recommended again: the target is first.
    scores = np.array([[0.9, 0.8, 0.5, 0.1, 0.0]])
    m = rank_metrics(scores, [[0, 1]], [2])
    assert m == {"hr@10": [1.0], "ndcg@10": [1.0], "hr@50": [1.0], "mrr": [1.0]}


def test_rank_four_gives_hand_computed_ndcg_and_mrr():
    scores = np.array([[0.0, 0.9, 0.8, 0.7, 0.1] + [0.0] * 20])
    m = rank_metrics(scores, [[]], [4])  # three items score higher -> rank 4 (0-based 3)
    assert m["ndcg@10"][0] == pytest.approx(1 / math.log2(5))
    assert m["mrr"][0] == pytest.approx(0.25)
    m = rank_metrics(np.arange(60, dtype=float)[None, ::-1], [[]], [55])  # rank 56: outside top 50
    assert m["hr@10"] == [0.0] and m["hr@50"] == [0.0] and m["mrr"][0] == pytest.approx(1 / 56)


def test_ties_do_not_flatter_a_constant_system():
    # every item scores 0: the target is placed after all items that come before it in the item order.
    m = rank_metrics(np.zeros((1, 30)), [[]], [20])
    assert m["hr@10"] == [0.0] and m["mrr"][0] == pytest.approx(1 / 21)
    assert target_ranks(np.zeros((1, 30)), [[3]], [20])[0] == 19  # one history item removed ahead of it


def test_baselines_find_the_known_next_item():
    seqs = [[0, 1, 2], [0, 1, 2], [0, 1, 3], [4, 2]]
    co = CoOccurrence.fit(seqs, n_items=5, backward=0.0)
    assert co.scores([0, 1]).argmax() == 2  # after 1 comes 2 (twice) more often than 3 (once)
    assert np.allclose(co.scores_many([[0, 1]])[0], co.scores([0, 1]))
    pop = Popularity.fit(seqs, n_items=5)
    assert pop.counts.tolist() == [3, 3, 3, 1, 1] and pop.normalised().max() == pytest.approx(1.0)


def test_ease_learns_which_items_shoppers_have_together():
    # two groups of items that never mix: a history from one group scores its own group first
    seqs = [[0, 1, 2], [1, 2, 0], [2, 0], [3, 4, 5], [4, 5], [5, 3, 4]] * 3
    ease = Ease.fit(seqs, n_items=7, lam=1.0, keep=3)
    scores = ease.scores([0, 1])
    assert scores.argmax() == 2 and scores.max() == pytest.approx(1.0)  # scaled: best item = 1
    assert scores[[3, 4, 5, 6]].max() <= 0.0 and scores[6] == 0.0  # unseen item 6 scores 0
    assert (np.diff(ease.weights.indptr) <= 3).all()  # at most ``keep`` weights per row
    assert np.allclose(ease.scores_many([[0, 1], [3]])[0], scores)
    newest = ease.scores([3, 0])  # the newest history item votes most
    assert newest[[1, 2]].max() > newest[[4, 5]].max()
    # the Gram matrices of two sources add up to the Gram matrix of both
    both = Ease.gram(seqs[:4], 7) + Ease.gram(seqs[4:], 7)
    assert (both != Ease.gram(seqs, 7)).nnz == 0


def test_the_blend_uses_ease_only_when_it_helps():
    # the target is found only by EASE: the grid must give it weight; without EASE features it stays 0
    n_users, n_items = 20, 30
    rng = np.random.default_rng(0)
    targets = list(rng.integers(0, n_items, n_users))
    noise = rng.random((n_users, n_items)).astype(np.float32)
    ease = np.zeros((n_users, n_items), np.float32)
    ease[np.arange(n_users), targets] = 1.0
    features = BlendFeatures(noise, noise * 0, noise * 0, [[]] * n_users, targets, ease)
    weights, table = fit_blend(features)
    assert weights.ease > 0 and table[0]["ndcg@10"] == pytest.approx(1.0)
    weights, _ = fit_blend(BlendFeatures(noise, noise * 0, noise * 0, [[]] * n_users, targets))
    assert weights.ease == 0.0


def test_evaluate_end_to_end_on_tiny_data(tiny_data, tiny_checkpoint, tmp_path):
    result = evaluate_recommenders(tiny_data["items"], tiny_data["sequences"], tiny_checkpoint.path,
                                   echo=lambda _: None)
    assert set(result["systems"]) == set(SYSTEMS)
    # only users held out from training and blend fitting are evaluated
    assert result["users"] == 8 and result["skipped_training_users"] == 32
    assert result["unknown_item_ids"] == {"count": 1, "examples": ["GHOST9"]}
    # every user follows a fixed chain: the transitions know the answer, popularity over 10 items does not
    assert result["systems"]["cooccurrence"]["hr@10"] == 1.0
    assert result["systems"]["cooccurrence"]["mrr"] == pytest.approx(1.0)
    assert result["systems"]["popularity"]["mrr"] < 1.0
    assert result["systems"]["ease"]["mrr"] > result["systems"]["popularity"]["mrr"]
    json.dumps(result)  # the CLI writes it as JSON

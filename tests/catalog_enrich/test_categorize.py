"""The hierarchical neighbour vote on hand-made vectors (answers worked out by hand)."""
from __future__ import annotations

import numpy as np
import pytest

from catalog.categorize import NeighbourVote


def unit(*rows):
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


REF = unit([1, 0, 0], [1, 0.1, 0], [1, 0, 0.1], [0, 1, 0], [0, 1, 0.1])
PATHS = [["toys", "dolls", "fashion dolls"], ["toys", "dolls", "baby dolls"], ["toys", "games"],
         ["clothing", "women"], ["clothing", "men"]]


def test_goes_deep_only_while_the_vote_agrees():
    vote = NeighbourVote(REF, PATHS, k=3, min_share=0.5)
    prediction = vote.predict(unit([1, 0.05, 0]))[0]
    # 3 toy neighbours agree on "toys"; 2 of 3 (~0.67) on "dolls"; the leaves split 1:1 (< 0.5 each).
    assert prediction.path == ["toys", "dolls"]
    assert prediction.shares[0] == pytest.approx(1.0)
    assert 0.6 < prediction.confidence < 0.7


def test_forced_vote_always_gives_a_full_path():
    prediction = NeighbourVote(REF, PATHS, k=3, min_share=0.0).predict(unit([1, 0.05, 0]))[0]
    assert prediction.path[:2] == ["toys", "dolls"] and len(prediction.path) == 3


def test_unsure_top_level_assigns_nothing():
    vote = NeighbourVote(REF, PATHS, k=5, min_share=0.7)
    assert vote.predict(unit([1, 1, 0]))[0].path == []


def test_dissimilar_neighbours_do_not_vote():
    vote = NeighbourVote(REF, PATHS, k=3, min_similarity=0.5)
    assert vote.predict(unit([0, 0, 1]))[0].path == []


def test_rows_without_a_path_are_ignored_and_empty_reference_is_safe():
    vote = NeighbourVote(REF, [[], [], [], ["clothing"], []], k=3)
    assert len(vote) == 1 and vote.predict(unit([0.2, 1, 0]))[0].path == ["clothing"]
    assert NeighbourVote(REF, [[]] * 5).predict(unit([1, 0, 0]))[0].path == []


def test_shape_mismatch_says_what_is_wrong():
    with pytest.raises(ValueError, match="one vector row per path"):
        NeighbourVote(REF, PATHS[:2])

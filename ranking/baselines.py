"""Count-based recommenders that the BERT recommender must beat — and that it blends in as signals.

Both work on item *indices* (positions in a fixed item vocabulary) and score every item at once,
returning a dense ``float32`` vector. Higher is better. Neither knows anything about users beyond the
history passed in, so they work for users never seen in training.

- :class:`Popularity`: how often each item occurs in the training sequences (``log1p`` of the count).
- :class:`CoOccurrence`: next-item transitions ("people who bought X next bought Y"). Counts pairs
  ``(earlier, later)`` that occur within ``window`` steps in a sequence, weighted ``1/distance``;
  rows are normalised to probabilities; a history scores items by summing the rows of its last
  ``last_n`` items, the newest weighted most (``decay`` per step back). A small symmetric term
  (``backward``) also credits items that *preceded* the history items.
- :class:`Ease`: EASE item-item weights over the users' item sets (a closed-form ridge regression of
  each item on all others); a history scores items by its recency-weighted rows.

Example::

    pop = Popularity.fit([[0, 1, 2], [1, 2]], n_items=3)
    pop.scores([0]).argmax()         # 1 or 2
    co = CoOccurrence.fit([[0, 1, 2], [0, 1]], n_items=3)
    co.scores([0]).argmax()          # 1: item 1 follows item 0 every time
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse


class Popularity:
    """Scores = ``log1p(count)`` of each item in the fitted sequences.

    Args:
        counts: occurrences per item index (length = number of items).
    """

    def __init__(self, counts: np.ndarray):
        self.counts = np.asarray(counts, dtype=np.float32)
        self._scores = np.log1p(self.counts)

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[int]], n_items: int) -> "Popularity":
        counts = np.zeros(n_items, dtype=np.float32)
        for seq in sequences:
            np.add.at(counts, np.asarray(seq, dtype=np.int64), 1.0)
        return cls(counts)

    def scores(self, history: Sequence[int] = ()) -> np.ndarray:
        """The same vector for everyone (a copy, so callers may modify it)."""
        return self._scores.copy()

    def normalised(self) -> np.ndarray:
        """Scores scaled to [0, 1] (``log1p(count) / log1p(max count)``), the blend feature."""
        top = float(self._scores.max()) if self._scores.size else 0.0
        return self._scores / top if top > 0 else self._scores.copy()


class CoOccurrence:
    """Next-item transition scores from windowed, distance-weighted pair counts.

    Args:
        transitions: CSR matrix, row = earlier item, column = later item, rows summing to 1 (or 0).
        window: how many steps ahead a pair still counts (fitting only; kept for the record).
        last_n: how many of the newest history items vote.
        decay: weight multiplier per step back in the history (newest = 1).
        backward: weight of the reversed direction (later -> earlier), 0 to disable.
    """

    def __init__(self, transitions: sparse.csr_matrix, window: int = 3, last_n: int = 3,
                 decay: float = 0.6, backward: float = 0.3):
        self.transitions = transitions.tocsr()
        self.backward_matrix = self.transitions.T.tocsr()
        self.window, self.last_n, self.decay, self.backward = window, last_n, decay, backward

    @classmethod
    def counts(cls, sequences: Iterable[Sequence[int]], n_items: int, window: int = 3) -> sparse.csr_matrix:
        """Raw distance-weighted pair counts (unnormalised), so counts from two sources can be added."""
        rows, cols, vals = [], [], []
        for seq in sequences:
            for pos in range(1, len(seq)):
                for dist in range(1, min(window, pos) + 1):
                    if seq[pos - dist] != seq[pos]:
                        rows.append(seq[pos - dist])
                        cols.append(seq[pos])
                        vals.append(1.0 / dist)
        return sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n_items, n_items))

    @classmethod
    def from_counts(cls, counts: sparse.csr_matrix, **kwargs) -> "CoOccurrence":
        """Row-normalise raw pair counts into transition probabilities."""
        counts = counts.tocsr().astype(np.float32)
        totals = np.asarray(counts.sum(axis=1)).ravel()
        inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        return cls(sparse.diags(inv) @ counts, **kwargs)

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[int]], n_items: int, window: int = 3, **kwargs) -> "CoOccurrence":
        return cls.from_counts(cls.counts(sequences, n_items, window), window=window, **kwargs)

    def scores(self, history: Sequence[int], item_weights: Sequence[float] | None = None) -> np.ndarray:
        """Sum of the transition rows of the newest ``last_n`` history items, decayed per step back.

        ``item_weights`` (one per history entry, e.g. event-kind weights) scale each item's vote.
        """
        n_items = self.transitions.shape[0]
        weights = np.zeros(n_items, dtype=np.float32)
        history = list(history)
        kinds = list(item_weights) if item_weights is not None else [1.0] * len(history)
        for back, (item, w) in enumerate(zip(reversed(history[-self.last_n:]), reversed(kinds[-self.last_n:]))):
            weights[item] += w * self.decay ** back
        if not weights.any():
            return np.zeros(n_items, dtype=np.float32)
        out = self.transitions.T @ weights
        if self.backward:
            out = out + self.backward * (self.backward_matrix.T @ weights)
        return np.asarray(out, dtype=np.float32).ravel()

    def scores_many(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """``scores`` for many histories at once: an array of shape (len(histories), n_items)."""
        n_items = self.transitions.shape[0]
        rows, cols, vals = [], [], []
        for row, history in enumerate(histories):
            for back, item in enumerate(reversed(list(history)[-self.last_n:])):
                rows.append(row)
                cols.append(item)
                vals.append(self.decay ** back)
        weights = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(histories), n_items))
        out = weights @ self.transitions
        if self.backward:
            out = out + self.backward * (weights @ self.backward_matrix)
        return np.asarray(out.todense(), dtype=np.float32)


class Ease:
    """EASE item-item weights (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019), recency-weighted.

    ``B = I - P / diag(P)`` with ``P = (G + lam I)^-1`` and ``G`` the item-item Gram matrix of the users'
    item *sets* (how many users have both items), diagonal forced to 0. A history scores items by
    ``h @ B`` with ``h`` = ``decay`` per step back (newest 1), scaled so each user's best item scores 1.
    The dense inverse covers at most ``max_items`` items (the most frequent; the rest score 0), and each
    row of ``B`` keeps its ``keep`` largest weights, so the model is sparse to store and serve.
    Measured on the validation users (docs/ranking.md): far stronger than next-item transitions.

    Args:
        weights: CSR matrix (n_items x n_items), row = history item, column = scored item.
        decay: recency weight per step back in the history.
    """

    def __init__(self, weights: sparse.csr_matrix, decay: float = 0.7):
        self.weights = weights.tocsr().astype(np.float32)
        self.decay = decay

    @staticmethod
    def gram(sequences: Iterable[Sequence[int]], n_items: int) -> sparse.csr_matrix:
        """Item-item co-presence counts over the users' item sets (addable across sources)."""
        rows, cols = [], []
        for user, seq in enumerate(sequences):
            for item in set(seq):
                rows.append(user)
                cols.append(item)
        users = (max(rows) + 1) if rows else 0
        x = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(users, n_items))
        return (x.T @ x).tocsr()

    @classmethod
    def from_gram(cls, gram: sparse.csr_matrix, lam: float = 100.0, keep: int = 200, max_items: int = 20000,
                  decay: float = 0.7) -> "Ease":
        """Solve EASE on the items that occur (at most ``max_items``, the most frequent) and prune."""
        from scipy import linalg

        n_items = gram.shape[0]
        freq = np.asarray(gram.diagonal()).ravel()
        support = np.flatnonzero(freq > 0)
        if len(support) > max_items:
            support = np.sort(support[np.argsort(-freq[support], kind="stable")[:max_items]])
        if not len(support):
            return cls(sparse.csr_matrix((n_items, n_items), dtype=np.float32), decay)
        dense = gram[support][:, support].toarray().astype(np.float32)
        dense[np.diag_indices_from(dense)] += lam
        inverse = linalg.inv(dense, overwrite_a=True, check_finite=False)
        b = -inverse / np.diag(inverse)[None, :]
        np.fill_diagonal(b, 0.0)
        del inverse
        keep = min(keep, len(support))
        top = np.argpartition(-b, keep - 1, axis=1)[:, :keep]
        vals = np.take_along_axis(b, top, axis=1)
        positive = vals > 0
        rows = np.repeat(support, keep).reshape(len(support), keep)[positive]
        weights = sparse.csr_matrix((vals[positive], (rows, support[top[positive]])), shape=(n_items, n_items))
        return cls(weights, decay)

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[int]], n_items: int, **kwargs) -> "Ease":
        return cls.from_gram(cls.gram(sequences, n_items), **kwargs)

    def _history_matrix(self, histories: Sequence[Sequence[int]],
                        item_weights: Sequence[Sequence[float]] | None = None) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for row, history in enumerate(histories):
            kinds = list(item_weights[row]) if item_weights is not None else [1.0] * len(history)
            seen: dict[int, float] = {}
            for back, (item, w) in enumerate(zip(reversed(list(history)), reversed(kinds))):
                seen[item] = max(seen.get(item, 0.0), w * self.decay ** back)
            rows += [row] * len(seen)
            cols += list(seen)
            vals += list(seen.values())
        return sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)),
                                 shape=(len(histories), self.weights.shape[0]))

    def scores_many(self, histories: Sequence[Sequence[int]],
                    item_weights: Sequence[Sequence[float]] | None = None) -> np.ndarray:
        """Scores of every item for each history, shape (len(histories), n_items), best item = 1 per row."""
        out = np.asarray((self._history_matrix(histories, item_weights) @ self.weights).todense(), np.float32)
        top = out.max(axis=1, keepdims=True) if out.size else out
        return np.divide(out, top, out=np.zeros_like(out), where=top > 0)

    def scores(self, history: Sequence[int], item_weights: Sequence[float] | None = None) -> np.ndarray:
        return self.scores_many([list(history)], [list(item_weights)] if item_weights is not None else None)[0]

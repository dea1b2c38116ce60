"""The blend: how the served score combines the recommender's signals, with weights FITTED, not guessed.

    score(item) = encoder * cos(user context, item)        # the fine-tuned BERT user tower
                + cooccurrence * transitions(history, item) # "bought next" counts (ranking.baselines)
                + ease * EASE item-item(history, item)      # in [0, 1] per user (ranking.baselines.Ease)
                + popularity * log-popularity in [0, 1]
                + query * query relevance in [0, 1]          # re-ranking only: the retrieval score

The first four weights are fitted by :func:`fit_blend`: an exhaustive grid search that maximises
NDCG@10 of the leave-last-out target on *validation users* (never used for fine-tuning, never used
for the reported test numbers). The grid is coarse on purpose (a few hundred points: no overfitting
to a few hundred users) and the encoder weight is fixed at 1 unless the grid prefers 0, since only
ratios matter. The ``query`` weight cannot be fitted from behaviour sequences (they carry no
queries); it defaults to the encoder weight and is recorded as ``query_fitted=False``.

Example::

    features = BlendFeatures(encoder=enc_scores, cooccurrence=co_scores, popularity=pop_matrix,
                             histories=[[3, 4], [7]], targets=[5, 1])
    weights, table = fit_blend(features)
    weights.to_dict()   # {'encoder': 1.0, 'cooccurrence': 0.3, 'popularity': 0.02, ...}
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

ENCODER_GRID = (0.0, 1.0)
COOCCURRENCE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
POPULARITY_GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0)
EASE_GRID = (0.0, 0.25, 0.5, 1.0, 2.0)


@dataclass
class BlendWeights:
    """Weights of the served score (see the module docstring)."""

    encoder: float = 1.0
    cooccurrence: float = 0.0
    popularity: float = 0.0
    query: float = 1.0
    ease: float = 0.0
    query_fitted: bool = False
    fitted_on_users: int = 0
    validation_ndcg10: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BlendWeights":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def combine(self, encoder: np.ndarray, cooccurrence: np.ndarray, popularity: np.ndarray,
                query: np.ndarray | None = None, ease: np.ndarray | None = None) -> np.ndarray:
        """The weighted sum (arrays of equal shape; ``query`` only when re-ranking)."""
        score = self.encoder * encoder + self.cooccurrence * cooccurrence + self.popularity * popularity
        if query is not None:
            score = score + self.query * query
        if ease is not None and self.ease:
            score = score + self.ease * ease
        return score


@dataclass
class BlendFeatures:
    """Per-user score matrices (users x items) plus each user's history and leave-last-out target."""

    encoder: np.ndarray
    cooccurrence: np.ndarray
    popularity: np.ndarray
    histories: Sequence[Sequence[int]]
    targets: Sequence[int]
    ease: np.ndarray | None = None


def target_ranks(scores: np.ndarray, histories: Sequence[Sequence[int]], targets: Sequence[int]) -> np.ndarray:
    """0-based rank of each target among all items not in that user's history.

    Ties are broken by item index (as a stable sort would), so constant scores cannot flatter a system.
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    targets = np.asarray(targets, dtype=np.int64)
    for row, history in enumerate(histories):
        if len(history):
            scores[row, [h for h in history if h != targets[row]]] = -np.inf
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    columns = np.arange(scores.shape[1])[None, :]
    better = (scores > target_scores).sum(axis=1)
    tied_before = ((scores == target_scores) & (columns < targets[:, None])).sum(axis=1)
    return better + tied_before


def ndcg10_from_ranks(ranks: np.ndarray) -> float:
    """Mean NDCG@10 for one relevant item per user, given its 0-based ranks."""
    ranks = np.asarray(ranks)
    return float(np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0).mean()) if ranks.size else 0.0


def fit_blend(features: BlendFeatures) -> tuple[BlendWeights, list[dict]]:
    """Grid-search the encoder/co-occurrence/EASE/popularity weights for NDCG@10 on the given users.

    Without ``features.ease`` the EASE weight stays 0. Returns the best weights and the whole table
    (one dict per grid point), best first.
    """
    if not len(features.targets):
        raise ValueError("no validation users to fit the blend on; lower test/valid shares or add users")
    table = []
    for w_ease in EASE_GRID if features.ease is not None else (0.0,):
        for w_enc in ENCODER_GRID:
            for w_co in COOCCURRENCE_GRID:
                if w_enc == 0 and w_co == 0 and w_ease == 0:
                    continue
                # the sum without popularity once per triple (the grid's cost is in these full-size sums)
                base = BlendWeights(w_enc, w_co, 0.0, ease=w_ease).combine(
                    features.encoder, features.cooccurrence, np.zeros_like(features.cooccurrence[:1]),
                    ease=features.ease)
                for w_pop in POPULARITY_GRID:
                    scores = base + w_pop * features.popularity if w_pop else base
                    ndcg = ndcg10_from_ranks(target_ranks(scores, features.histories, features.targets))
                    table.append({"encoder": w_enc, "cooccurrence": w_co, "ease": w_ease, "popularity": w_pop,
                                  "ndcg@10": ndcg})
    table.sort(key=lambda row: (-row["ndcg@10"], -row["encoder"], row["cooccurrence"], row["ease"], row["popularity"]))
    best = table[0]
    weights = BlendWeights(encoder=best["encoder"], cooccurrence=best["cooccurrence"], popularity=best["popularity"],
                           query=best["encoder"] or 1.0, ease=best["ease"], fitted_on_users=len(features.targets),
                           validation_ndcg10=round(best["ndcg@10"], 5))
    return weights, table

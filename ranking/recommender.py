"""The BERT recommender as served: score every item for a shopper's history (and query), in one call.

Signals, each a vector over the item vocabulary:

- ``encoder``: cosine between the fine-tuned user tower's vector of the context text (query +
  newest-first history, :func:`ranking.encoder.context_text`) and the precomputed item vectors;
- ``cooccurrence``: next-item transitions from the newest history items (:class:`ranking.baselines.CoOccurrence`);
- ``ease``: item-item weights over the whole recency-weighted history (:class:`ranking.baselines.Ease`);
- ``popularity``: log-popularity scaled to [0, 1].

They are combined by the checkpoint's fitted :class:`ranking.blend.BlendWeights`. Items already in
the history are excluded by the callers that rank (evaluation, ``recommend``), not here.

Example::

    rec = Recommender.from_checkpoint(ckpt, item_ids, item_texts)   # or ckpt=None: untrained fallback
    scores = rec.score([rec.index["B000123"]], query=None)          # numpy vector, one per item
    rec.signals([[rec.index["B000123"]]])["encoder"].shape           # (1, n_items)
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ranking.baselines import CoOccurrence, Ease, Popularity
from ranking.blend import BlendWeights
from ranking.checkpoint import Checkpoint, ContextSettings
from ranking.context import build_user_context
from ranking.encoder import RecEncoder
from ranking.heads import Heads

log = logging.getLogger(__name__)

UNTRAINED_WEIGHTS = BlendWeights(encoder=1.0, cooccurrence=0.0, popularity=0.02)


def align_stats(ckpt_ids: list[str], counts: np.ndarray, pairs: sparse.csr_matrix,
                item_ids: list[str]) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Re-index checkpoint popularity counts and pair counts onto ``item_ids`` (unknown ids get 0)."""
    mapping = id_mapping(ckpt_ids, item_ids)
    out_counts = np.zeros(len(item_ids), dtype=np.float32)
    known = mapping >= 0
    out_counts[mapping[known]] = counts[known]
    return out_counts, reindex_matrix(pairs, mapping, len(item_ids))


def id_mapping(ckpt_ids: list[str], item_ids: list[str]) -> np.ndarray:
    """``mapping[old] = new`` position of each checkpoint id in ``item_ids`` (-1 where it is absent)."""
    index = {item: n for n, item in enumerate(item_ids)}
    return np.array([index.get(item, -1) for item in ckpt_ids], dtype=np.int64)


def reindex_matrix(matrix: sparse.spmatrix, mapping: np.ndarray, n_items: int) -> sparse.csr_matrix:
    """An item x item matrix moved onto another vocabulary (``mapping[old] = new``, -1 = dropped)."""
    coo = matrix.tocoo()
    rows, cols = mapping[coo.row], mapping[coo.col]
    keep = (rows >= 0) & (cols >= 0)
    return sparse.csr_matrix((coo.data[keep], (rows[keep], cols[keep])), shape=(n_items, n_items))


def aligned_ease(ckpt: Checkpoint, ckpt_ids: list[str], item_ids: list[str],
                 extra_sequences: Sequence[Sequence[int]] = ()) -> Ease | None:
    """The checkpoint's EASE weights (over ``ckpt_ids``) on ``item_ids``; refitted with ``extra_sequences``
    counted in when given."""
    found = ckpt.ease()
    if found is None:
        return None
    ease, gram = found
    mapping = id_mapping(ckpt_ids, item_ids)
    if not extra_sequences:
        return Ease(reindex_matrix(ease.weights, mapping, len(item_ids)), ease.decay)
    gram = reindex_matrix(gram, mapping, len(item_ids)) + Ease.gram(extra_sequences, len(item_ids))
    return Ease.from_gram(gram, lam=float(ckpt.meta.get("ease_lambda", 100.0)), decay=ease.decay)


class Recommender:
    """Scores items for histories given as item indices into ``item_ids``.

    Args:
        user_encoder: the (fine-tuned) user tower.
        item_ids, item_texts: the item vocabulary and texts (same order).
        item_vectors: frozen item-tower vectors, one row per item (L2-normalised); ``heads`` projects them.
        popularity, cooccurrence: the count-based signals over the same vocabulary.
        weights: the blend.
        context: how context texts are written.
        version: checkpoint version, or "untrained".
        heads: the trained item projection and history mix (identity by default: the plain towers).
        ease: EASE item-item weights (None: the signal is 0).
    """

    def __init__(self, user_encoder: RecEncoder, item_ids: list[str], item_texts: list[str], item_vectors: np.ndarray,
                 popularity: Popularity, cooccurrence: CoOccurrence, weights: BlendWeights,
                 context: ContextSettings, version: str = "untrained", heads: Heads | None = None,
                 ease: Ease | None = None):
        self.user_encoder = user_encoder
        self.item_ids = list(item_ids)
        self.item_texts = list(item_texts)
        self.index = {item: n for n, item in enumerate(self.item_ids)}
        self.heads = heads or Heads.identity()
        self.raw_item_vectors = item_vectors
        self.item_vectors = self.heads.items(item_vectors, item_ids)
        self.popularity = popularity
        self.cooccurrence = cooccurrence
        self.ease = ease
        self.weights = weights
        self.context_settings = context
        self.version = version
        self._pop_norm = popularity.normalised()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | None, item_ids: list[str], item_texts: list[str],
                        item_vectors: np.ndarray | None = None, extra_sequences: Sequence[Sequence[int]] = (),
                        extra_counts: np.ndarray | None = None, item_encoder: RecEncoder | None = None,
                        user_encoder: RecEncoder | None = None) -> "Recommender":
        """Build the served recommender over a vocabulary.

        Args:
            ckpt: a checkpoint, or None for the untrained fallback (a warning is logged).
            item_ids, item_texts: the vocabulary (catalogue products, or an ITEMS file).
            item_vectors: precomputed item vectors; computed with the item tower when None.
            extra_sequences: more index sequences to count (e.g. evaluation histories, live events).
            extra_counts: extra popularity counts per item (e.g. from the event store).
            item_encoder, user_encoder: already-loaded encoders to reuse.
        """
        n_items = len(item_ids)
        if ckpt is None:
            log.warning("no trained recommender checkpoint found: using the UNTRAINED MiniLM encoder "
                        "(train one with `shopassist train ranker`)")
            context, weights, version = ContextSettings(), UNTRAINED_WEIGHTS, "untrained"
            counts, pairs = np.zeros(n_items, np.float32), sparse.csr_matrix((n_items, n_items), dtype=np.float32)
            user_encoder = user_encoder or item_encoder or RecEncoder.load(max_seq_length=context.max_seq_length)
        else:
            context, weights, version = ckpt.context, ckpt.blend, ckpt.version
            ckpt_ids, counts, pairs = ckpt.stats()
            counts, pairs = align_stats(ckpt_ids, counts, pairs, item_ids)
            user_encoder = user_encoder or ckpt.load_user_tower()
        if item_vectors is None:
            item_encoder = item_encoder or RecEncoder.load(ckpt.item_encoder_path if ckpt else None)
            item_vectors = item_encoder.encode_items(item_texts, item_words=context.item_words)
        if extra_sequences:
            counts = counts + Popularity.fit(extra_sequences, n_items).counts
            pairs = pairs + CoOccurrence.counts(extra_sequences, n_items)
        if extra_counts is not None:
            counts = counts + np.asarray(extra_counts, np.float32)
        return cls(user_encoder, item_ids, item_texts, item_vectors, Popularity(counts),
                   CoOccurrence.from_counts(pairs), weights, context, version, ckpt.heads() if ckpt else None,
                   aligned_ease(ckpt, ckpt_ids, item_ids, extra_sequences) if ckpt else None)

    # -- the signals -------------------------------------------------------------------
    def contexts(self, histories: Sequence[Sequence[int]], queries: Sequence[str | None] | None = None,
                 weights: Sequence[Sequence[float]] | None = None):
        """The user contexts (:func:`ranking.context.build_user_context`, as in training and serving)."""
        queries = queries or [None] * len(histories)
        return [build_user_context(q, list(h), weights[n] if weights is not None else None,
                                   lambda i: self.item_texts[i], self.context_settings)
                for n, (h, q) in enumerate(zip(histories, queries))]

    def context_texts(self, histories: Sequence[Sequence[int]], queries: Sequence[str | None] | None = None) -> list[str]:
        return [c.text for c in self.contexts(histories, queries)]

    def encoder_scores(self, histories: Sequence[Sequence[int]], queries: Sequence[str | None] | None = None,
                       batch_size: int = 64, progress: bool = False,
                       weights: Sequence[Sequence[float]] | None = None) -> np.ndarray:
        """Cosine of each user vector with every (projected) item: shape (len(histories), n_items).

        0 for an empty context. The user vector is the tower's context vector mixed with the history mean
        by the checkpoint's heads.
        """
        contexts = self.contexts(histories, queries, weights)
        out = np.zeros((len(contexts), len(self.item_ids)), dtype=np.float32)
        rows = [n for n, c in enumerate(contexts) if c.text]
        if rows:
            tower = self.user_encoder.encode_contexts([contexts[n].text for n in rows], batch_size=batch_size,
                                                      progress=progress)
            users = self.heads.user(tower, [contexts[n].items for n in rows], [contexts[n].weights for n in rows],
                                    self.item_vectors)
            out[rows] = users @ self.item_vectors.T
        return out

    def signals(self, histories: Sequence[Sequence[int]], queries: Sequence[str | None] | None = None,
                progress: bool = False, weights: Sequence[Sequence[float]] | None = None) -> dict[str, np.ndarray]:
        """Every signal as a (users x items) matrix."""
        shape = (len(histories), len(self.item_ids))
        return {"encoder": self.encoder_scores(histories, queries, progress=progress, weights=weights),
                "cooccurrence": self.cooccurrence.scores_many(histories),
                "ease": self.ease.scores_many(histories, weights) if self.ease else np.zeros(shape, np.float32),
                "popularity": np.broadcast_to(self._pop_norm, shape)}

    def score_many(self, histories: Sequence[Sequence[int]], queries: Sequence[str | None] | None = None,
                   progress: bool = False) -> np.ndarray:
        """Blended scores, shape (len(histories), n_items)."""
        sig = self.signals(histories, queries, progress)
        return self.weights.combine(sig["encoder"], sig["cooccurrence"], sig["popularity"], ease=sig["ease"])

    def score(self, history: Sequence[int], query: str | None = None) -> np.ndarray:
        """Blended scores of every item for one history (indices, oldest first)."""
        return self.score_many([list(history)], [query])[0]

    def top_k(self, history: Sequence[int], k: int = 10, query: str | None = None) -> list[tuple[str, float]]:
        """The k best (item id, score) pairs, history items excluded."""
        scores = self.score(history, query)
        scores[list(history)] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.item_ids[i], float(scores[i])) for i in best]

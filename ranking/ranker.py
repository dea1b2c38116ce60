"""Serving: re-rank search candidates for a shopper, recommend without a query, and show their profile.

One object per process, shared by all shoppers: it holds models and caches keyed by catalogue
fingerprint and checkpoint version — never a shopper's data. Every call reads the shopper's history
from the event store, so an event written a moment ago changes the very next result.

Scores (``RankedItem.scores``), each in a comparable range, combined with the checkpoint's fitted
:class:`ranking.blend.BlendWeights`:

- ``query_relevance``: the retrieval score, min-max scaled to [0, 1] over the candidates;
- ``personal_affinity``: the fine-tuned BERT user tower's cosine between "query + recent history"
  and the item (for a cold shopper: the query alone);
- ``cooccurrence``: how often the item followed the shopper's last items in the training sequences;
- ``popularity``: log-popularity (training sequences + live events) scaled to [0, 1].

Example::

    ranker = Ranker.from_settings(settings, store)
    hits = search.search("safety glasses", k=200)
    for item in ranker.rerank(pseudonymise("alice", settings.user_id_key), "safety glasses", hits, k=10):
        print(item.product.title, round(item.score, 3), item.scores)
    ranker.recommend(user, k=10)
    ranker.profile(user).summary()
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from catalog.events import EventStore
from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store
from ranking.blend import BlendWeights
from ranking.checkpoint import Checkpoint, ContextSettings, newest_good
from ranking.encoder import RecEncoder, context_text
from ranking.item_cache import ItemVectorCache, product_text
from ranking.profile import UserProfile, build_profile
from ranking.recommender import UNTRAINED_WEIGHTS

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50
COUNTS_TTL_SECONDS = 30.0


@contextmanager
def _torch_threads(n: int | None):
    """Run a block with ``n`` torch intra-op threads, restoring the previous setting afterwards."""
    import torch

    if not n:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def model_root(settings: Settings) -> Path:
    """Where checkpoint versions live: ``<data_dir>/models/ranker``."""
    return Path(settings.data_dir) / "models" / "ranker"


@dataclass
class RankedItem:
    """One ranked product with its blended score and the score breakdown."""

    product: Product
    score: float
    scores: dict[str, float] = field(default_factory=dict)


class Ranker:
    """The served recommender (see the module docstring).

    Args:
        store: the catalogue store.
        events: the event store (shopper histories, live popularity).
        checkpoint: the trained checkpoint, or None for the untrained fallback.
        user_encoder, item_encoder: the two towers (the same object when untrained).
        cache_dir: where catalogue item vectors are saved.
        threads: torch threads for bulk work (encoding a whole catalogue for ``recommend``).
        turn_threads: torch threads for the one short context encoded per turn. 1 by default: measured
            here under load, one 64-token pass took ~130 ms on 1 thread and ~780 ms on 2 (the thread
            trap in DESIGN.md); on a quiet core it is ~10–20 ms.
    """

    def __init__(self, store: Store, events: EventStore, checkpoint: Checkpoint | None, user_encoder: RecEncoder,
                 item_encoder: RecEncoder, cache_dir: Path | None = None, threads: int | None = None,
                 turn_threads: int = 1):
        self.store = store
        self.events = events
        self.checkpoint = checkpoint
        self.user_encoder = user_encoder
        self.weights: BlendWeights = checkpoint.blend if checkpoint else UNTRAINED_WEIGHTS
        self.context: ContextSettings = checkpoint.context if checkpoint else ContextSettings()
        self.items = ItemVectorCache(item_encoder, cache_dir, self.context.item_words)
        self.threads = threads
        self.turn_threads = turn_threads
        self._stats: tuple[dict[str, int], np.ndarray, object] | None = None
        self._live_counts: tuple[float, dict[str, int]] = (0.0, {})
        if checkpoint is not None:
            ids, counts, pairs = checkpoint.stats()
            from ranking.baselines import CoOccurrence

            self._stats = ({item: n for n, item in enumerate(ids)}, counts, CoOccurrence.from_counts(pairs))

    @property
    def version(self) -> str:
        return self.checkpoint.version if self.checkpoint else "untrained"

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embedder=None) -> "Ranker":
        """Load the newest good checkpoint under ``<data_dir>/models/ranker`` (or fall back, with a warning).

        Args:
            settings: application settings (``data_dir``, ``torch_threads``).
            store: the catalogue store.
            embedder: a ``retrieval.embedder.Embedder`` to reuse as the item tower (saves loading MiniLM twice).
        """
        import torch

        torch.set_num_threads(settings.torch_threads)
        root = model_root(settings)
        ckpt = newest_good(root)
        if embedder is not None:
            item_encoder = RecEncoder(embedder.model, getattr(embedder, "path", None))
        else:
            item_encoder = RecEncoder.load(settings.embedding_model)
        if ckpt is None:
            log.warning("no trained recommender under %s: ranking with the UNTRAINED MiniLM encoder and default "
                        "weights (train one: shopassist train ranker --items ITEMS --sequences SEQUENCES)", root)
            user_encoder = item_encoder
        else:
            user_encoder = RecEncoder.load(ckpt.user_encoder_path, max_seq_length=ckpt.context.max_seq_length)
            log.info("recommender checkpoint %s loaded", ckpt.version)
        return cls(store, EventStore(store), ckpt, user_encoder, item_encoder, root / "cache", settings.torch_threads)

    # -- signals -------------------------------------------------------------------------
    def _history(self, user: str | None) -> tuple[list[str], dict[str, Product]]:
        items = self.events.item_history(user, HISTORY_LIMIT)
        return items, self.store.get_products(items) if items else {}

    def _user_vector(self, query: str | None, history: list[str], products: dict[str, Product]) -> np.ndarray | None:
        texts = [product_text(products[i]) for i in history if i in products]
        ctx = context_text(query, texts[-self.context.context_items:], self.context.words_per_item,
                           self.context.context_items)
        if not ctx:
            return None
        with _torch_threads(self.turn_threads):
            return self.user_encoder.encode_contexts([ctx])[0]

    def _counts(self) -> dict[str, int]:
        stamp, counts = self._live_counts
        if time.monotonic() - stamp > COUNTS_TTL_SECONDS:
            counts = self.events.item_counts()
            self._live_counts = (time.monotonic(), counts)
        return counts

    def _popularity(self, ids: Sequence[str]) -> np.ndarray:
        live = self._counts()
        out = np.array([live.get(i, 0) for i in ids], dtype=np.float32)
        top = max(live.values(), default=0)
        if self._stats:
            index, counts, _ = self._stats
            out += np.array([counts[index[i]] if i in index else 0.0 for i in ids], dtype=np.float32)
            top = max(top, float(counts.max()) if counts.size else 0.0)
        scale = np.log1p(top) if top > 0 else 1.0
        return np.log1p(out) / scale

    def _cooccurrence(self, ids: Sequence[str], history: list[str]) -> np.ndarray:
        if not self._stats or not history:
            return np.zeros(len(ids), dtype=np.float32)
        index, _, co = self._stats
        known = [index[i] for i in history if i in index]
        if not known:
            return np.zeros(len(ids), dtype=np.float32)
        row = co.scores(known)
        return np.array([row[index[i]] if i in index else 0.0 for i in ids], dtype=np.float32)

    # -- public API ---------------------------------------------------------------------
    def rerank(self, user: str | None, query: str | None, candidates: Sequence, k: int = 10) -> list[RankedItem]:
        """Order ``candidates`` (``retrieval.search.SearchHit``: ``.product``, ``.score``) for ``user``.

        ``user`` is the pseudonymised key, or None (cold start: query relevance and popularity).
        Items the shopper marked ``not_interested`` are dropped. Returns at most ``k`` items, best first.
        """
        if not candidates:
            return []
        history, products = self._history(user)
        unwanted = {e.item_id for e in self.events.history(user, HISTORY_LIMIT, kinds=["not_interested"])} if user else set()
        hits = [h for h in candidates if h.product.id not in unwanted]
        ids = [h.product.id for h in hits]
        raw = np.array([float(h.score) for h in hits], dtype=np.float32)
        spread = float(raw.max() - raw.min()) if len(raw) else 0.0
        query_rel = (raw - raw.min()) / spread if spread > 0 else np.ones_like(raw)
        user_vec = self._user_vector(query, history, products)
        affinity = (self.items.vectors([h.product for h in hits]) @ user_vec if user_vec is not None
                    else np.zeros(len(hits), dtype=np.float32))
        co = self._cooccurrence(ids, history)
        pop = self._popularity(ids)
        total = self.weights.combine(affinity, co, pop, query_rel)
        order = np.argsort(-total, kind="stable")[:k]
        return [RankedItem(hits[n].product, float(total[n]), {
            "query_relevance": float(query_rel[n]), "personal_affinity": float(affinity[n]),
            "cooccurrence": float(co[n]), "popularity": float(pop[n])}) for n in order]

    def recommend(self, user: str | None, k: int = 10) -> list[RankedItem]:
        """Top-``k`` catalogue products for ``user`` with no query (history items excluded).

        A cold shopper (None or no events) gets the most popular products.
        """
        with _torch_threads(self.threads):
            ids, products, matrix = self.items.catalog(self.store)
        if not ids:
            return []
        history, hist_products = self._history(user)
        user_vec = self._user_vector(None, history, hist_products)
        affinity = matrix @ user_vec if user_vec is not None else np.zeros(len(ids), dtype=np.float32)
        co = self._cooccurrence(ids, history)
        pop = self._popularity(ids)
        total = self.weights.combine(affinity, co, pop)
        seen = set(history)
        total = np.where([i in seen for i in ids], -np.inf, total)
        order = [n for n in np.argsort(-total, kind="stable")[:k] if np.isfinite(total[n])]
        return [RankedItem(products[n], float(total[n]), {
            "personal_affinity": float(affinity[n]), "cooccurrence": float(co[n]),
            "popularity": float(pop[n])}) for n in order]

    def profile(self, user: str | None) -> UserProfile:
        """The shopper's readable profile (computed from their events now; nothing is stored)."""
        events = self.events.history(user, 200)
        products = self.store.get_products({e.item_id for e in events}) if events else {}
        return build_profile(user, events, products)

"""Serving: re-rank search candidates for a shopper, recommend without a query, and show their profile.

One object per process, shared by all shoppers: it holds models and caches keyed by catalogue
fingerprint and checkpoint version — never a shopper's data. Every call reads the shopper's history
from the event store, so an event written a moment ago changes the very next result.

Scores (``RankedItem.scores``), each in a comparable range, combined with the checkpoint's fitted
:class:`ranking.blend.BlendWeights`:

- ``query_relevance``: the retrieval score, min-max scaled to [0, 1] over the candidates;
- ``personal_affinity``: cosine between the user vector (the fine-tuned BERT user tower over
  "query + recent history", mixed with the history mean by the checkpoint's heads) and the item's
  projected vector (for a cold shopper: the query alone);
- ``cooccurrence``: how often the item followed the shopper's last items in the training sequences;
- ``ease``: how strongly shoppers who had the shopper's items also had this one (EASE item-item weights,
  only for checkpoints that carry them);
- ``popularity``: log-popularity (training sequences + live events weighted by kind) scaled to [0, 1];
- ``not_interested``: a penalty (<= 0) for items close to something the shopper marked "not
  interested" (the marked items themselves are never returned).

History comes from the event store weighted by kind (:mod:`ranking.context`: purchase > add_to_cart >
like > click > view), through the same context builder training uses. A newer ``good`` checkpoint
written under the model folder (``shopassist train ranker --from-events``) is picked up by a running
``Ranker`` without a restart (checked at most every ``reload_every`` seconds; :meth:`Ranker.reload`).

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
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sqlalchemy import func, select

from catalog import schema
from catalog.events import EventStore
from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store
from ranking.blend import BlendWeights
from ranking.checkpoint import Checkpoint, ContextSettings, newest_good
from ranking.context import EVENT_WEIGHTS, build_user_context, negative_items, weighted_history
from ranking.encoder import RecEncoder, packaged_model_path
from ranking.heads import Heads
from ranking.onnx_tower import load_onnx_tower
from ranking.item_cache import ItemVectorCache, product_text
from ranking.profile import UserProfile, build_profile
from ranking.recommender import UNTRAINED_WEIGHTS

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50
COUNTS_TTL_SECONDS = 30.0
RELOAD_SECONDS = 10.0
NOT_INTERESTED_WEIGHT = 0.5  # penalty per unit of similarity above NOT_INTERESTED_FLOOR (not fitted: no data)
NOT_INTERESTED_FLOOR = 0.5
UNTRAINED_HEADS = Heads.identity(gate=1.0)  # fallback: tower + history mean, no projection


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


class _Stats(NamedTuple):
    """A checkpoint's count-based signals over its own item vocabulary."""

    index: dict[str, int]
    counts: np.ndarray
    co: object  # ranking.baselines.CoOccurrence
    ease: object | None  # ranking.baselines.Ease


@dataclass
class _Model:
    """Everything that changes with a checkpoint, swapped as ONE object (a hot swap is one assignment)."""

    checkpoint: Checkpoint | None
    user_encoder: RecEncoder
    weights: BlendWeights
    context: ContextSettings
    heads: Heads
    stats: _Stats | None
    turn_tower: object | None = None  # ONNX Runtime copy of user_encoder for single contexts (None: torch)

    @property
    def version(self) -> str:
        return self.checkpoint.version if self.checkpoint else "untrained"


def _load_model(checkpoint: Checkpoint | None, fallback_encoder: RecEncoder, onnx_root: Path | None = None) -> _Model:
    if checkpoint is None:
        model = _Model(None, fallback_encoder, UNTRAINED_WEIGHTS, ContextSettings(), UNTRAINED_HEADS, None)
    else:
        model = _Model(checkpoint, checkpoint.load_user_tower(), checkpoint.blend, checkpoint.context,
                       checkpoint.heads(), _load_model_stats(checkpoint))
    if onnx_root is not None:
        model.turn_tower = load_onnx_tower(model.user_encoder, onnx_root / model.version)
    return model


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
        model_dir: folder of checkpoint versions watched for a newer good one (None: no hot swap).
        reload_every: seconds between two looks at ``model_dir`` (0: look on every call).
        onnx_root: run the per-turn user-tower pass on ONNX Runtime, exports under ``onnx_root/<version>``
            (None: torch). Measured in docs/ranking.md ("Re-ranking latency").
    """

    def __init__(self, store: Store, events: EventStore, checkpoint: Checkpoint | None, user_encoder: RecEncoder,
                 item_encoder: RecEncoder, cache_dir: Path | None = None, threads: int | None = None,
                 turn_threads: int = 1, model_dir: Path | None = None, reload_every: float = RELOAD_SECONDS,
                 onnx_root: Path | None = None):
        self.store = store
        self.events = events
        self.item_encoder = item_encoder
        self.items = ItemVectorCache(item_encoder, cache_dir, (checkpoint.context if checkpoint else
                                                               ContextSettings()).item_words)
        self.threads = threads
        self.turn_threads = turn_threads
        self.model_dir = model_dir
        self.reload_every = reload_every
        self.onnx_root = onnx_root
        self._model = _Model(checkpoint, user_encoder, checkpoint.blend if checkpoint else UNTRAINED_WEIGHTS,
                             checkpoint.context if checkpoint else ContextSettings(),
                             checkpoint.heads() if checkpoint else UNTRAINED_HEADS,
                             _load_model_stats(checkpoint) if checkpoint else None)
        if onnx_root is not None:  # also for the untrained tower
            self._model.turn_tower = load_onnx_tower(user_encoder, onnx_root / self._model.version)
        self._live_counts: tuple[float, dict[str, float]] = (0.0, {})
        self._projected: tuple[tuple, np.ndarray] | None = None
        self._last_look = time.monotonic()
        self._reload_lock = threading.Lock()

    # the model in use (read-only views; a hot swap replaces them all at once)
    @property
    def checkpoint(self) -> Checkpoint | None:
        return self._model.checkpoint

    @property
    def user_encoder(self) -> RecEncoder:
        return self._model.user_encoder

    @property
    def weights(self) -> BlendWeights:
        return self._model.weights

    @property
    def context(self) -> ContextSettings:
        return self._model.context

    @property
    def heads(self) -> Heads:
        return self._model.heads

    @property
    def version(self) -> str:
        return self._model.version

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embedder=None) -> "Ranker":
        """Load the newest good checkpoint under ``<data_dir>/models/ranker`` (or fall back, with a warning).

        Args:
            settings: application settings (``data_dir``, ``torch_threads``).
            store: the catalogue store.
            embedder: a ``retrieval.embedder.Embedder`` to reuse as the item tower (saves loading MiniLM twice);
                used only when it is the torch copy of the item tower's model (search may serve ONNX or a
                fine-tuned encoder: their vectors are not the ones the checkpoint was trained on).
        """
        import torch

        torch.set_num_threads(settings.torch_threads)
        root = model_root(settings)
        ckpt = newest_good(root)
        if _is_item_tower(embedder, settings):
            item_encoder = RecEncoder(embedder.model, getattr(embedder, "path", None))
        else:
            item_encoder = RecEncoder.load(settings.embedding_model)
        if ckpt is None:
            log.warning("no trained recommender under %s: ranking with the UNTRAINED MiniLM encoder and default "
                        "weights (train one: shopassist train ranker --items ITEMS --sequences SEQUENCES)", root)
            user_encoder = item_encoder
        else:
            user_encoder = ckpt.load_user_tower()
            log.info("recommender checkpoint %s loaded", ckpt.version)
        onnx_root = root.parent / "ranker-onnx" if settings.ranker_backend == "onnx" else None
        return cls(store, EventStore(store), ckpt, user_encoder, item_encoder, root / "cache", settings.torch_threads,
                   model_dir=root, onnx_root=onnx_root)

    # -- hot swap -------------------------------------------------------------------------
    def reload(self) -> bool:
        """Switch to the newest good checkpoint under ``model_dir`` if it is newer than the one in use.

        Returns True when it switched. The new model is loaded completely before one assignment swaps
        it in, so a call in flight finishes with the old one and the next uses the new one.
        """
        self._last_look = time.monotonic()
        if self.model_dir is None:
            return False
        with self._reload_lock:
            found = newest_good(self.model_dir)
            if found is None or (self.checkpoint is not None and found.version <= self.checkpoint.version):
                return False
            try:
                model = _load_model(found, self.item_encoder, self.onnx_root)
            except Exception as exc:  # a broken new version must not take the server down
                log.warning("could not load the new recommender checkpoint %s: %s", found.version, exc)
                return False
            old = self.version
            self._model = model
            log.info("recommender checkpoint switched %s -> %s without a restart", old, model.version)
            return True

    def _maybe_reload(self) -> None:
        if self.model_dir is not None and time.monotonic() - self._last_look >= self.reload_every:
            self.reload()

    # -- signals -------------------------------------------------------------------------
    def _history(self, user: str | None):
        """(positive items oldest first, their kind weights, not-interested items, products) of ``user``."""
        events = self.events.history(user, HISTORY_LIMIT) if user else []
        items, weights = weighted_history(events)
        negatives = negative_items(events)
        wanted = set(items) | set(negatives)
        products = self.store.get_products(wanted) if wanted else {}
        keep = [n for n, i in enumerate(items) if i in products]
        return [items[n] for n in keep], [weights[n] for n in keep], [i for i in negatives if i in products], products

    def _projected_vectors(self, model: _Model, products: Sequence[Product]) -> np.ndarray:
        return model.heads.items(self.items.vectors(products), [p.id for p in products])

    def user_context(self, model: _Model, query: str | None, history: list[str], weights: list[float],
                     products: dict[str, Product]):
        """The context served for this turn (exactly :func:`ranking.context.build_user_context`)."""
        return build_user_context(query, history, weights, lambda i: product_text(products[i]), model.context)

    def _user_vector(self, model: _Model, query: str | None, history: list[str], weights: list[float],
                     products: dict[str, Product]) -> np.ndarray | None:
        ctx = self.user_context(model, query, history, weights, products)
        if not ctx.text:
            return None
        if model.turn_tower is not None:
            tower = model.turn_tower.encode_contexts([ctx.text])
        else:
            with _torch_threads(self.turn_threads):
                tower = model.user_encoder.encode_contexts([ctx.text])
        recent = self._projected_vectors(model, [products[i] for i in ctx.items]) if ctx.items else None
        if recent is None:
            return model.heads.user(tower, [[]], None, np.zeros((0, tower.shape[1]), np.float32))[0]
        return model.heads.user(tower, [list(range(len(ctx.items)))], [ctx.weights], recent)[0]

    def _counts(self) -> dict[str, float]:
        """Live popularity: events per item weighted by kind (negatives excluded), refreshed every 30 s."""
        stamp, counts = self._live_counts
        if time.monotonic() - stamp > COUNTS_TTL_SECONDS:
            table = schema.events
            query = select(table.c.item_id, table.c.kind, func.count()).group_by(table.c.item_id, table.c.kind)
            counts = {}
            with self.store.engine.connect() as conn:
                for item, kind, n in conn.execute(query).all():
                    weight = EVENT_WEIGHTS.get(kind, 0.0)
                    if weight > 0:
                        counts[item] = counts.get(item, 0.0) + weight * int(n)
            self._live_counts = (time.monotonic(), counts)
        return counts

    def _popularity(self, model: _Model, ids: Sequence[str]) -> np.ndarray:
        live = self._counts()
        out = np.array([live.get(i, 0.0) for i in ids], dtype=np.float32)
        top = max(live.values(), default=0.0)
        if model.stats:
            index, counts = model.stats.index, model.stats.counts
            out += np.array([counts[index[i]] if i in index else 0.0 for i in ids], dtype=np.float32)
            top = max(top, float(counts.max()) if counts.size else 0.0)
        scale = np.log1p(top) if top > 0 else 1.0
        return np.log1p(out) / scale

    def _item_item(self, model: _Model, signal: str, ids: Sequence[str], history: list[str],
                   weights: list[float]) -> np.ndarray:
        """``cooccurrence`` or ``ease`` scores of ``ids`` for the shopper's weighted history."""
        scorer = getattr(model.stats, signal) if model.stats else None
        if scorer is None or not history:
            return np.zeros(len(ids), dtype=np.float32)
        index = model.stats.index
        known = [(index[i], w) for i, w in zip(history, weights) if i in index]
        if not known:
            return np.zeros(len(ids), dtype=np.float32)
        row = scorer.scores([k for k, _ in known], [w for _, w in known])
        return np.array([row[index[i]] if i in index else 0.0 for i in ids], dtype=np.float32)

    def _not_interested(self, model: _Model, vectors: np.ndarray, negatives: list[str],
                        products: dict[str, Product]) -> np.ndarray:
        """Penalty (<= 0) for items similar to what the shopper marked "not interested"."""
        if not negatives or not len(vectors):
            return np.zeros(len(vectors), dtype=np.float32)
        neg = self._projected_vectors(model, [products[i] for i in negatives])
        sim = (vectors @ neg.T).max(axis=1)
        return -NOT_INTERESTED_WEIGHT * np.clip((sim - NOT_INTERESTED_FLOOR) / (1 - NOT_INTERESTED_FLOOR), 0, 1)

    # -- public API ---------------------------------------------------------------------
    def rerank(self, user: str | None, query: str | None, candidates: Sequence, k: int = 10) -> list[RankedItem]:
        """Order ``candidates`` (``retrieval.search.SearchHit``: ``.product``, ``.score``) for ``user``.

        ``user`` is the pseudonymised key, or None (cold start: query relevance and popularity).
        Items the shopper marked ``not_interested`` are dropped, and items close to them are pushed down
        (the ``not_interested`` score). Returns at most ``k`` items, best first.
        """
        if not candidates:
            return []
        self._maybe_reload()
        model = self._model
        history, weights, negatives, products = self._history(user)
        unwanted = set(negatives)
        hits = [h for h in candidates if h.product.id not in unwanted]
        if not hits:
            return []
        ids = [h.product.id for h in hits]
        raw = np.array([float(h.score) for h in hits], dtype=np.float32)
        spread = float(raw.max() - raw.min()) if len(raw) else 0.0
        query_rel = (raw - raw.min()) / spread if spread > 0 else np.ones_like(raw)
        # one item-tower batch for the candidates and the history items (the mix needs them; usually cached)
        both = self._projected_vectors(model, [h.product for h in hits] + [products[i] for i in history])
        vectors = both[:len(hits)]
        user_vec = self._user_vector(model, query, history, weights, products)
        affinity = vectors @ user_vec if user_vec is not None else np.zeros(len(hits), dtype=np.float32)
        co = self._item_item(model, "co", ids, history, weights)
        ease = self._item_item(model, "ease", ids, history, weights)
        pop = self._popularity(model, ids)
        neg = self._not_interested(model, vectors, negatives, products)
        total = model.weights.combine(affinity, co, pop, query_rel, ease) + neg
        order = np.argsort(-total, kind="stable")[:k]
        return [RankedItem(hits[n].product, float(total[n]), _breakdown(model, negatives, neg[n], {
            "query_relevance": float(query_rel[n]), "personal_affinity": float(affinity[n]),
            "cooccurrence": float(co[n]), "ease": float(ease[n]), "popularity": float(pop[n])}))
                for n in order]

    def _catalog(self, model: _Model):
        with _torch_threads(self.threads):
            ids, products, matrix = self.items.catalog(self.store)
        key = (id(matrix), model.version, model.heads.digest())
        if self._projected is None or self._projected[0] != key:
            self._projected = (key, model.heads.items(matrix, ids))
        return ids, products, self._projected[1]

    def recommend(self, user: str | None, k: int = 10, exclude: Sequence[str] = ()) -> list[RankedItem]:
        """Top-``k`` catalogue products for ``user`` with no query.

        Never returns the shopper's history items, items they marked ``not_interested`` (items close
        to those are pushed down), or ``exclude``. A cold shopper (None or no events) gets the most
        popular products.
        """
        self._maybe_reload()
        model = self._model
        ids, products, matrix = self._catalog(model)
        if not ids:
            return []
        history, weights, negatives, hist_products = self._history(user)
        user_vec = self._user_vector(model, None, history, weights, hist_products)
        affinity = matrix @ user_vec if user_vec is not None else np.zeros(len(ids), dtype=np.float32)
        co = self._item_item(model, "co", ids, history, weights)
        ease = self._item_item(model, "ease", ids, history, weights)
        pop = self._popularity(model, ids)
        neg = self._not_interested(model, matrix, negatives, hist_products)
        total = model.weights.combine(affinity, co, pop, ease=ease) + neg
        banned = set(history) | set(negatives) | set(exclude)
        total = np.where([i in banned for i in ids], -np.inf, total)
        order = [n for n in np.argsort(-total, kind="stable")[:k] if np.isfinite(total[n])]
        return [RankedItem(products[n], float(total[n]), _breakdown(model, negatives, neg[n], {
            "personal_affinity": float(affinity[n]), "cooccurrence": float(co[n]), "ease": float(ease[n]),
            "popularity": float(pop[n])})) for n in order]

    def profile(self, user: str | None) -> UserProfile:
        """The shopper's readable profile (computed from their events now; nothing is stored)."""
        events = self.events.history(user, 200)
        products = self.store.get_products({e.item_id for e in events}) if events else {}
        return build_profile(user, events, products)

    def profile_text(self, user: str | None) -> str:
        """The profile as sentences the shopper reads ("You often buy Thomas & Friends; usually £10–30. ...")."""
        return self.profile(user).text()


def _is_item_tower(embedder, settings: Settings) -> bool:
    """True when ``embedder`` is a torch sentence-transformers copy of the recommender's item tower."""
    path = getattr(embedder, "path", None)
    if embedder is None or getattr(embedder, "model", None) is None or path is None:
        return False
    wanted = Path(settings.embedding_model) if settings.embedding_model else packaged_model_path()
    return Path(path).resolve() == wanted.resolve()


def _breakdown(model: _Model, negatives: list[str], penalty: float, scores: dict[str, float]) -> dict[str, float]:
    """The score breakdown; ``not_interested`` appears only for shoppers who marked something, ``ease`` only
    for checkpoints that carry it."""
    if negatives:
        scores["not_interested"] = float(penalty)
    if model.stats is None or model.stats.ease is None:
        scores.pop("ease", None)
    return scores


def _load_model_stats(checkpoint: Checkpoint) -> _Stats:
    from ranking.baselines import CoOccurrence

    ids, counts, pairs = checkpoint.stats()
    found = checkpoint.ease()
    return _Stats({item: n for n, item in enumerate(ids)}, counts, CoOccurrence.from_counts(pairs),
                  found[0] if found else None)

"""Item vectors for serving, computed once and reused.

Two caches, both owned by one :class:`ItemVectorCache` object (no module-level state):

- per product, keyed by ``(product id, content hash)``: re-ranking 200 candidates encodes only the
  ones never seen before (a changed product has a new hash, so it is re-encoded);
- the whole catalogue as one matrix, keyed by the store's ``fingerprint()`` and the item-tower name,
  kept in memory and saved as ``items-<fingerprint>-<model>.npz`` in ``cache_dir`` so a restarted
  server does not re-encode the catalogue. ``recommend`` (no query) needs it.

Example::

    cache = ItemVectorCache(RecEncoder.load(), Path("var/models/ranker/cache"))
    vectors = cache.vectors(products)                  # (len(products), 384)
    ids, products, matrix = cache.catalog(store)       # every product
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from catalog.records import Product
from catalog.store import Store
from ranking.encoder import DEFAULT_ITEM_WORDS, RecEncoder

log = logging.getLogger(__name__)


def product_text(product: Product) -> str:
    """The text an item is embedded from in serving (title, brand, category, start of description)."""
    return product.search_text()


class ItemVectorCache:
    """Caches item-tower vectors per product and for the whole catalogue.

    Args:
        encoder: the item tower.
        cache_dir: where catalogue matrices are saved (None: memory only).
        item_words: items are cut to this many words before encoding (as in training).
        max_entries: per-product cache size; beyond it the least recently used entries are evicted.
    """

    def __init__(self, encoder: RecEncoder, cache_dir: Path | None = None, item_words: int = DEFAULT_ITEM_WORDS,
                 max_entries: int = 200_000):
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.item_words = item_words
        self.max_entries = max_entries
        self._by_product: dict[tuple[str, str], np.ndarray] = {}
        self._catalog: tuple[str, list[str], list[Product], np.ndarray] | None = None

    @property
    def model_name(self) -> str:
        path = str(self.encoder.path or "model")
        return hashlib.sha256(f"{path}|{self.item_words}".encode()).hexdigest()[:12]

    def vectors(self, products: Sequence[Product]) -> np.ndarray:
        """Vectors for ``products`` (row per product), encoding only unseen (id, content) pairs.

        The per-product cache is bounded by ``max_entries``: the least recently used entries are evicted
        (never one this call still needs: the rows are read before anything is evicted).
        """
        if not products:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        keys = [(p.id, p.content_hash()) for p in products]
        rows: list[np.ndarray | None] = [self._by_product.get(key) for key in keys]
        missing = [n for n, row in enumerate(rows) if row is None]
        if missing:
            fresh = self.encoder.encode_items([product_text(products[n]) for n in missing], item_words=self.item_words)
            for n, vec in zip(missing, fresh):
                rows[n] = vec
        for key, vec in zip(keys, rows):  # remember (most recently used last), then evict the oldest
            self._by_product.pop(key, None)
            self._by_product[key] = vec
        while len(self._by_product) > self.max_entries:
            self._by_product.pop(next(iter(self._by_product)))
        return np.stack(rows)

    def catalog(self, store: Store, progress: bool = False) -> tuple[list[str], list[Product], np.ndarray]:
        """(ids, products, matrix) for every product in ``store``; recomputed only when the catalogue changes."""
        fingerprint = store.fingerprint()
        if self._catalog and self._catalog[0] == fingerprint:
            return self._catalog[1], self._catalog[2], self._catalog[3]
        products = list(store.iter_products())
        ids = [p.id for p in products]
        path = self.cache_dir / f"items-{fingerprint}-{self.model_name}.npz" if self.cache_dir else None
        matrix = None
        if path and path.exists():
            with np.load(path, allow_pickle=False) as saved:
                if [str(x) for x in saved["ids"]] == ids:
                    matrix = saved["vectors"]
        if matrix is None:
            log.info("encoding %d catalogue items for the recommender (once per catalogue version)", len(ids))
            matrix = (self.encoder.encode_items([product_text(p) for p in products], batch_size=128,
                                                progress=progress, item_words=self.item_words)
                      if products else np.zeros((0, self.encoder.dim), dtype=np.float32))
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, ids=np.asarray(ids, dtype=str), vectors=matrix)
        for product, vec in list(zip(products, matrix))[-self.max_entries:]:
            self._by_product[(product.id, product.content_hash())] = vec
        while len(self._by_product) > self.max_entries:
            self._by_product.pop(next(iter(self._by_product)))
        self._catalog = (fingerprint, ids, products, matrix)
        return ids, products, matrix

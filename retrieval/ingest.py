"""Ingest a catalog file into the store and both indexes, idempotently and crash-safely.

The SQL store is the source of truth; each product row carries the hash of the record as loaded.
Work happens in chunks: embed → enrich → write the chunk to the store (one transaction) → write its
vectors (tagged with the same hash). Whatever is interrupted, :func:`sync_indexes` runs at the end of
every ingest and reconciles Chroma with the store by hash (embedding what is missing or stale,
deleting what the store no longer has), then rebuilds BM25 when the catalog fingerprint changed.
So a crash or Ctrl-C leaves a state that the next ingest completes, and the same file twice
changes nothing.

Example::

    report = ingest_file(Settings(), "data/demo/products.jsonl")
    print(report.added, report.updated, report.unchanged, report.errors[:3])
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalog.loaders import RowError, load_products
from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store, UpsertStats
from retrieval.embedder import Embedder
from retrieval.lexical_index import LexicalIndex
from retrieval.vector_index import VectorIndex, open_client

log = logging.getLogger(__name__)
CHUNK = 1024
Enricher = Callable[[list[Product], np.ndarray], list[Product]]


@dataclass(frozen=True)
class IndexPaths:
    chroma: Path
    bm25: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> "IndexPaths":
        return cls(settings.data_dir / "chroma", settings.data_dir / "bm25")

    @staticmethod
    def collection(embedder: Embedder) -> str:
        return f"products-{embedder.name}"[:60]


@dataclass
class IngestReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    embedded: int = 0
    deleted_from_index: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def products_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def ingest_products(store: Store, vectors: VectorIndex, embedder: Embedder, products: list[Product],
                    bm25_folder: Path, enrich: Enricher | None = None, progress: bool = True) -> IngestReport:
    """Write ``products`` (new or changed ones only) to the store and both indexes."""
    started = time.perf_counter()
    report = IngestReport(rows=len(products))
    hashes = {p.id: p.content_hash() for p in products}
    stored = store.product_hashes()
    todo = [p for p in products if stored.get(p.id) != hashes[p.id]]
    report.unchanged = len(products) - len(todo)
    stats = UpsertStats()
    with tqdm(total=len(todo), desc="ingest", unit="product", disable=not progress or not todo) as bar:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            matrix = embedder.encode([p.search_text() for p in chunk], batch_size=128)
            if enrich is not None:
                chunk = enrich(chunk, matrix)
            stats += store.upsert_products(chunk, hashes)
            vectors.upsert([p.id for p in chunk], matrix, [hashes[p.id] for p in chunk])
            report.embedded += len(chunk)
            bar.update(len(chunk))
    report.added, report.updated = stats.added, stats.updated
    synced = sync_indexes(store, vectors, embedder, bm25_folder, progress=progress)
    report.embedded += synced.embedded
    report.deleted_from_index = synced.deleted_from_index
    report.seconds = time.perf_counter() - started
    return report


def sync_indexes(store: Store, vectors: VectorIndex, embedder: Embedder, bm25_folder: Path,
                 progress: bool = True) -> IngestReport:
    """Make Chroma and BM25 agree with the store (after a crash, a delete, or a partial ingest)."""
    report = IngestReport()
    stored = store.product_hashes()
    indexed = vectors.hashes()
    stale = sorted(pid for pid, h in stored.items() if indexed.get(pid) != h)
    gone = sorted(set(indexed) - set(stored))
    if gone:
        vectors.delete(gone)
        report.deleted_from_index = len(gone)
    if stale:
        log.info("re-indexing %d products the vector index lacks or has stale", len(stale))
    with tqdm(total=len(stale), desc="sync vectors", unit="product", disable=not progress or not stale) as bar:
        for start in range(0, len(stale), CHUNK):
            ids = stale[start:start + CHUNK]
            products = store.get_products(ids)
            ids = [i for i in ids if i in products]
            matrix = embedder.encode([products[i].search_text() for i in ids], batch_size=128)
            vectors.upsert(ids, matrix, [stored[i] for i in ids])
            report.embedded += len(ids)
            bar.update(len(ids))
    fingerprint = store.fingerprint(stored)
    lexical = LexicalIndex.load(bm25_folder)
    if lexical is None or lexical.fingerprint != fingerprint:
        LexicalIndex.build(list(store.iter_products()), fingerprint).save(bm25_folder)
    return report


def delete_products(settings: Settings, ids: list[str], embedder: Embedder | None = None) -> int:
    """Delete products from the store, then reconcile the indexes."""
    store = Store.from_settings(settings)
    embedder = embedder or Embedder(settings.embedding_model, threads=settings.torch_threads)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
    removed = store.delete_products(ids)
    sync_indexes(store, vectors, embedder, paths.bm25, progress=False)
    return removed


def ingest_file(settings: Settings, path: str | Path, mapping: Mapping | None = None, progress: bool = True,
                embedder: Embedder | None = None, enrich: bool = True) -> IngestReport:
    """Load ``path`` (see :func:`catalog.loaders.load_products`) and ingest it into ``settings.data_dir``.

    A file that cannot be loaded raises :class:`catalog.loaders.LoaderError` before anything is written.
    """
    loaded = load_products(path, mapping)
    store = Store.from_settings(settings)
    embedder = embedder or Embedder(settings.embedding_model, threads=settings.torch_threads)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
    enricher = make_enricher(embedder) if enrich else None
    report = ingest_products(store, vectors, embedder, loaded.products, paths.bm25, enricher, progress)
    report.errors = loaded.errors
    report.rows = loaded.rows
    return report


def make_enricher(embedder: Embedder) -> Enricher:
    """Attribute extraction and category assignment (``catalog.enrich``), reusing the ingest's vectors."""
    from catalog.enrich import enrich

    return lambda products, vectors: enrich(products, embedder.encode, None, vectors=vectors)

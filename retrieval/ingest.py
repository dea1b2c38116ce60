"""Ingest a catalog file into the store and both indexes, idempotently and crash-safely.

The SQL store is the source of truth; each product row carries the hash of the record as loaded.
Work happens in chunks: embed → enrich → write the chunk to the store (one transaction) → write its
vectors (tagged with the same hash). Whatever is interrupted, :func:`sync_indexes` runs at the end of
every ingest and reconciles Chroma with the store by hash (embedding what is missing or stale,
deleting what the store no longer has), then rebuilds BM25 when the catalog fingerprint changed.
So a crash or Ctrl-C leaves a state that the next ingest completes, and the same file twice
changes nothing.

**One ingest at a time.** :func:`ingest_lock` (a ``flock`` on ``<data_dir>/ingest.lock``, plus a
PostgreSQL advisory lock when the store is PostgreSQL, for ingests on other hosts) is held by
:func:`ingest_file`, :func:`delete_products` and :func:`repair_indexes`: a second ingest waits for
the first instead of interleaving with it. The lock dies with its process, so a SIGKILLed ingest
never leaves it held.

**Start-up check.** :func:`repair_indexes` (run by the server at start-up and by ``shopassist index
rebuild``) finds a missing, corrupted or stale BM25 index or vector index and rebuilds it from the store.

Example::

    report = ingest_file(Settings(), "data/demo/products.jsonl")
    print(report.added, report.updated, report.unchanged, report.errors[:3])
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalog.loaders import RowError, load_products
from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store, UpsertStats
from retrieval.embedder import Embedder
from retrieval.encoders import make_embedder
from retrieval.lexical_index import LexicalIndex
from retrieval.lexical_index import verify as verify_bm25
from retrieval.vector_index import VectorIndex, open_client

log = logging.getLogger(__name__)
CHUNK = 4096  # texts per encode + store write: longer runs to sort by length (encoder 72 s vs 81 s at 1,024; docs/search.md)
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


INGEST_ADVISORY_KEY = 0x5A0_1A57  # pg_advisory_lock key of shopassist ingests


@contextmanager
def ingest_lock(data_dir: Path, store: Store | None = None, wait_message: Callable[[str], None] | None = None
                ) -> Iterator[None]:
    """Hold the ingest lock of ``data_dir`` (and of the PostgreSQL database, if ``store`` is one)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "ingest.lock", "a+")
    pg_conn = None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            (wait_message or log.warning)("another ingest is running on this data folder; waiting for it to finish")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        if store is not None and store.url.startswith("postgresql"):
            from sqlalchemy import text

            pg_conn = store.engine.connect()
            pg_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": INGEST_ADVISORY_KEY})
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        if pg_conn is not None:
            from sqlalchemy import text

            try:
                pg_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INGEST_ADVISORY_KEY})
            finally:
                pg_conn.close()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


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
            matrix = embedder.encode([p.search_text() for p in chunk], batch_size=ingest_batch(embedder))
            if enrich is not None:
                chunk = enrich(chunk, matrix)
            stats += store.upsert_products(chunk, hashes)
            vectors.upsert([p.id for p in chunk], matrix, [hashes[p.id] for p in chunk], chunk)
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
            matrix = embedder.encode([products[i].search_text() for i in ids], batch_size=ingest_batch(embedder))
            vectors.upsert(ids, matrix, [stored[i] for i in ids], [products[i] for i in ids])
            report.embedded += len(ids)
            bar.update(len(ids))
    fingerprint = store.fingerprint(stored)
    if verify_bm25(bm25_folder, fingerprint) is not None:  # missing, stale or corrupted
        LexicalIndex.build(list(store.iter_products()), fingerprint).save(bm25_folder)
    return report


def ingest_batch(embedder) -> int:
    """The encoder's fastest batch for ingest (torch: 128; ONNX Runtime: 32, measured in docs/search.md)."""
    return getattr(embedder, "ingest_batch", 128)


def collection_name(settings: Settings) -> str:
    """The Chroma collection of ``settings.embedding_model`` without loading the model
    (the same name as ``IndexPaths.collection(Embedder(...))``)."""
    from retrieval.embedder import default_model_path

    from retrieval.embedder import model_name
    from retrieval.encoders import collection_suffix

    path = Path(settings.embedding_model) if settings.embedding_model else default_model_path()
    return f"products-{model_name(path)}{collection_suffix(settings)}"[:60]


def index_problems(settings: Settings, store: Store | None = None) -> list[str]:
    """What is wrong with the indexes of ``settings`` compared with the store (empty: consistent).

    Cheap: no model is loaded. Checks that BM25 loads and matches the catalog fingerprint, and that
    the vector index opens and holds exactly the store's products with their content hashes.
    """
    store = store or Store.from_settings(settings)
    paths = IndexPaths.for_settings(settings)
    stored = store.product_hashes()
    problems = []
    bm25 = verify_bm25(paths.bm25, store.fingerprint(stored))
    if bm25 is not None and (stored or bm25.startswith("corrupted")):
        problems.append(f"BM25 index {bm25}")
    try:
        indexed = VectorIndex(open_client(paths.chroma, settings.chroma_url), collection_name(settings)).hashes()
    except Exception as exc:  # noqa: BLE001 - any failure to open or read is a corrupted index
        problems.append(f"vector index corrupted: unreadable ({type(exc).__name__}: {str(exc)[:200]})")
    else:
        stale = sum(1 for pid, h in stored.items() if indexed.get(pid) != h)
        extra = len(set(indexed) - set(stored))
        if stale or extra:
            problems.append(f"vector index out of date: {stale} products missing or stale, {extra} deleted ones left")
    return problems


def repair_indexes(settings: Settings, force: bool = False, progress: bool = False,
                   embedder: Embedder | None = None) -> list[str]:
    """Rebuild what :func:`index_problems` finds (everything with ``force``) from the store; returns the problems.

    A corrupted on-disk Chroma folder is moved aside (``chroma.corrupt-<time>``) and rebuilt;
    a Chroma server (``chroma_url``) is re-synced instead.
    """
    store = Store.from_settings(settings)
    problems = index_problems(settings, store)
    if force and not problems:
        problems = ["rebuild requested"]
    if not problems:
        return []
    paths = IndexPaths.for_settings(settings)
    with ingest_lock(settings.data_dir, store):
        problems = index_problems(settings, store) or (["rebuild requested"] if force else [])
        if not problems:
            return []
        vector_broken = any(p.startswith("vector index corrupted") for p in problems)
        if (vector_broken or force) and settings.chroma_url is None and paths.chroma.exists():
            aside = paths.chroma.with_name(f"chroma.corrupt-{int(time.time())}") if vector_broken else None
            if aside is not None:
                paths.chroma.rename(aside)
                log.warning("moved the unreadable vector index aside to %s", aside)
            else:
                shutil.rmtree(paths.chroma)
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()  # Chroma caches one client per path: forget the broken one
        if force:
            shutil.rmtree(paths.bm25, ignore_errors=True)
        if any(not p.startswith("BM25") for p in problems):
            embedder = embedder or make_embedder(settings)
            vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
            sync_indexes(store, vectors, embedder, paths.bm25, progress=progress)
        else:  # only BM25: no model needed
            stored = store.product_hashes()
            LexicalIndex.build(list(store.iter_products()), store.fingerprint(stored)).save(paths.bm25)
    return problems


def delete_products(settings: Settings, ids: list[str], embedder: Embedder | None = None) -> int:
    """Delete products from the store, then reconcile the indexes."""
    store = Store.from_settings(settings)
    embedder = embedder or make_embedder(settings)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
    with ingest_lock(settings.data_dir, store):
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
    embedder = embedder or make_embedder(settings)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
    enricher = make_enricher(embedder) if enrich else None
    with ingest_lock(settings.data_dir, store):
        report = ingest_products(store, vectors, embedder, loaded.products, paths.bm25, enricher, progress)
    report.errors = loaded.errors
    report.rows = loaded.rows
    return report


def make_enricher(embedder: Embedder) -> Enricher:
    """Attribute extraction and category assignment (``catalog.enrich``), reusing the ingest's vectors."""
    from catalog.enrich import enrich

    return lambda products, vectors: enrich(products, embedder.encode, None, vectors=vectors)

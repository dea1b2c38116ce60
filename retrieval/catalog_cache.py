"""A catalog file's store and indexes, built once and cached by the file's content hash.

Used by the offline evaluation and by re-ranker training so both see the same indexes::

    search, items, seconds = open_cached_search(catalog, None, Path("var/eval-cache"), embedder, FusionConfig())

``<cache>/<hash>/`` holds shopassist.db, chroma/ and bm25/; ``complete-<collection>`` marks a finished
build for one embedding model. :func:`cached_candidates` keeps the hybrid candidates of a query set
there too (a pickle keyed by queries, fusion and model), so training again skips retrieval.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Mapping
from pathlib import Path

from tqdm import tqdm

from catalog.loaders import load_products
from catalog.settings import Settings
from catalog.store import Store
from retrieval.ingest import IndexPaths, ingest_products
from retrieval.lexical_index import LexicalIndex
from retrieval.rerank_features import Candidates
from retrieval.search import FusionConfig, ProductSearch
from retrieval.vector_index import VectorIndex, open_client


def file_hash(path: Path, mapping: dict | None) -> str:
    digest = hashlib.sha256(json.dumps(mapping or {}, sort_keys=True).encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def open_cached_search(catalog: Path, mapping: dict | None, cache_dir: Path, embedder,
                       fusion: FusionConfig) -> tuple[ProductSearch, int, float]:
    """Build (once) or reopen the store and indexes for ``catalog``; returns (search, items, build seconds)."""
    folder = cache_dir / file_hash(catalog, mapping)
    settings = Settings(data_dir=folder)
    store = Store.from_settings(settings)
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma), paths.collection(embedder), embedder)
    started = time.perf_counter()
    done_marker = folder / f"complete-{paths.collection(embedder)}"
    if not done_marker.exists():
        loaded = load_products(catalog, mapping)
        for error in loaded.errors[:5]:
            print(f"skipped {error}")
        ingest_products(store, vectors, embedder, loaded.products, paths.bm25, enrich=None, progress=True)
        done_marker.touch()
    search = ProductSearch(store, embedder, vectors, LexicalIndex.load(paths.bm25), fusion)
    return search, store.count_products(), time.perf_counter() - started


def cached_candidates(search: ProductSearch, queries: Mapping[str, str], folder: Path, depth: int | None = None,
                      progress: bool = True) -> dict[str, Candidates]:
    """Hybrid candidates (as served: ``depth``, default ``fusion.depth``, from each system) of every
    query, cached in ``folder`` under a key of the queries, fusion, depth, vector collection and BM25 index."""
    depth = depth or search.fusion.depth
    rewriter = search.rewriter()
    parts = [sorted(queries.items()), search.fusion.__dict__, search.vectors.name,
             search.lexical.fingerprint if search.lexical else None] + ([depth] if depth != search.fusion.depth else [])
    if rewriter is not None:  # the key of a run without rewriting is what it was before rewriting existed
        parts.append({"rewrite": rewriter.config(), "dense": search.rewrite_dense})
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    path = Path(folder) / f"candidates-{key}.pkl"
    if path.is_file():
        with open(path, "rb") as handle:
            return pickle.load(handle)
    out = {}
    for qid, query in tqdm(queries.items(), desc="candidates", disable=not progress):
        order, fused, raw = search.candidates(query, "hybrid", depth)
        out[qid] = Candidates(order, fused, raw["bm25"], raw["dense"], query=search.rewritten(query))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(out, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.rename(path)
    return out

"""Hybrid product search: BM25 and dense (Chroma) candidates, fused, then hard filters.

One obvious call::

    search = ProductSearch.from_settings(Settings())
    hits = search.search("red running shoes", filters=SearchFilters(price_max=80, currency="USD"), k=10)
    hits[0].product.title, hits[0].scores   # {'bm25': 7.1, 'dense': 0.62, 'hybrid': 0.031}

Fusion (``retrieval.fusion``) is tuned on Home Depot judgments (docs/search.md). When a learned
re-ranker is present (``retrieval.reranker``; loaded by :meth:`ProductSearch.from_settings`), the first
``depth`` fused candidates are re-ordered by it and ``scores`` gains ``rerank``; without one (or with a
broken one) search is plain hybrid, with one log line. The dense encoder is the newest good fine-tuned
one under ``<data_dir>/models/encoder`` whose collection is complete, else the packaged MiniLM
(``retrieval.encoder_versions``; one log line). Filters are applied to the ranked candidates;
when they leave fewer than ``k``, the search goes deeper once.

Before retrieval the query is rewritten towards the catalog's vocabulary (``retrieval.query_rewrite``:
glued units split, words the catalog does not know corrected); BM25 and the re-ranker read the
rewritten query, the dense encoder the query as typed (``rewrite_dense``; docs/search.md measures both).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from catalog.ages import product_ages
from catalog.currency import convert
from catalog.records import Product
from catalog.settings import Settings
from catalog.store import Store
from retrieval.embedder import Embedder
from retrieval.fusion import FusionConfig, fuse
from retrieval.lexical_index import LexicalIndex
from retrieval.rerank_features import Candidates
from retrieval.vector_index import VectorIndex, open_client

log = logging.getLogger(__name__)
PUSHDOWN_IDS = 20_000  # a filter keeping at most this many products restricts the vector search to them
Mode = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class SearchFilters:
    """Hard filters. Prices are in ``currency`` (products in other currencies are converted)."""

    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = None
    brands: tuple[str, ...] = ()
    brands_exclude: tuple[str, ...] = ()
    category: str | None = None  # case-insensitive substring of the category path
    colour: str | None = None
    exclude_words: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    age: float | None = None  # years: products whose stated ages (catalog.ages) exclude it are dropped

    def active(self) -> bool:
        return any(v not in (None, ()) for k, v in self.__dict__.items() if k != "currency")

    def accepts(self, product: Product) -> bool:
        if product.id in self.exclude_ids:
            return False
        if self.price_min is not None or self.price_max is not None:
            if product.price is None:
                return False
            price = convert(product.price, product.currency, self.currency)
            if self.price_min is not None and price < self.price_min:
                return False
            if self.price_max is not None and price > self.price_max:
                return False
        brand = (product.brand or "").lower()
        text = f"{product.title} {product.description[:300]}".lower()
        if self.brands and not any(b.lower() == brand or (not brand and b.lower() in text) for b in self.brands):
            return False
        if any(b.lower() == brand or b.lower() in product.title.lower() for b in self.brands_exclude):
            return False
        if self.category and self.category.lower() not in product.category_path.lower():
            return False
        if self.colour:  # whole words: "red" must not match "embroidered"
            colour = (product.attribute("colour") or "").lower()
            if not re.search(rf"\b{re.escape(self.colour.lower())}\b", colour or text):
                return False
        if self.age is not None:
            stated = product_ages(product)
            if stated is not None and not stated.fits(self.age):
                return False
        return not any(w.lower() in text for w in self.exclude_words)


@dataclass
class SearchHit:
    product: Product
    score: float
    scores: dict[str, float] = field(default_factory=dict)


class ProductSearch:
    """BM25 + dense search over the products of one store."""

    def __init__(self, store: Store, embedder: Embedder, vectors: VectorIndex, lexical: LexicalIndex | None,
                 fusion: FusionConfig = FusionConfig(), bm25_folder: Path | None = None, reranker=None,
                 rewrite: bool = True, rewrite_dense: bool = False):
        self.store = store
        self.rewrite = rewrite  # spelling/unit rewriting before BM25 (retrieval.query_rewrite)
        self.rewrite_dense = rewrite_dense  # the dense encoder reads the rewritten query too
        self._rewriter: tuple[int, object] | None = None  # (id of the lexical index it was built for, rewriter)
        self.reranker = reranker  # a retrieval.reranker.Reranker, or None: plain hybrid
        self.embedder = embedder
        self.vectors = vectors
        self.lexical = lexical
        self.fusion = fusion
        self.bm25_folder = bm25_folder  # when given, a re-ingest by another process is picked up
        self._bm25_stamp = self._stamp()

    def _stamp(self) -> int | None:
        meta = self.bm25_folder / "meta.json" if self.bm25_folder else None
        return meta.stat().st_mtime_ns if meta and meta.exists() else None

    def _current_lexical(self) -> LexicalIndex | None:
        """The BM25 index, reloaded if an ingest has saved a new one since it was loaded."""
        if self.bm25_folder is not None:
            stamp = self._stamp()
            if stamp != self._bm25_stamp:
                self.lexical, self._bm25_stamp = LexicalIndex.load(self.bm25_folder), stamp
        return self.lexical

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None, embedder: Embedder | None = None,
                      fusion: FusionConfig = FusionConfig()) -> "ProductSearch":
        from retrieval.encoders import make_embedder
        from retrieval.ingest import IndexPaths
        from retrieval.reranker import load_newest

        store = store or Store.from_settings(settings)
        paths = IndexPaths.for_settings(settings)
        client = open_client(paths.chroma, settings.chroma_url)
        embedder = embedder or cls._served_embedder(settings, store, client)
        vectors = VectorIndex(client, paths.collection(embedder), embedder)
        tuned = _encoder_fusion(embedder)
        if fusion == FusionConfig() and tuned is not None:  # the weight tuned for this encoder (eval/tune_fusion.py)
            fusion = tuned
        reranker = None
        if settings.search_reranker:
            reranker = load_newest(settings.search_reranker_dir or settings.data_dir / "models" / "reranker",
                                   encoder=embedder.name)
        return cls(store, embedder, vectors, LexicalIndex.load(paths.bm25), fusion, bm25_folder=paths.bm25,
                   reranker=reranker)

    @staticmethod
    def _served_embedder(settings: Settings, store: Store, client):
        """The newest good fine-tuned encoder whose collection is complete, else the packaged one
        (``retrieval.encoder_versions``); one that fails to load is logged and skipped."""
        from retrieval.encoder_versions import choose
        from retrieval.encoders import collection_suffix, make_embedder

        chosen = choose(settings, store, client, collection_suffix(settings))
        if chosen is not None:
            try:
                return make_embedder(settings, model_path=chosen)
            except Exception as exc:  # noqa: BLE001 - a broken model folder must not stop search
                log.warning("dense encoder: packaged (the fine-tuned %s does not load: %s: %s)",
                            chosen, type(exc).__name__, str(exc)[:200])
        return make_embedder(settings)

    def rewriter(self):
        """The :class:`retrieval.query_rewrite.QueryRewriter` of the current BM25 index (None: no index,
        or rewriting off). Its vocabulary is the index's ``words``, or the store's texts for an index
        saved before it kept them."""
        lexical = self._current_lexical()
        if not self.rewrite or lexical is None or not lexical.ids:
            return None
        if self._rewriter is None or self._rewriter[0] != id(lexical):
            from retrieval.lexical_index import word_text
            from retrieval.query_rewrite import QueryRewriter, catalog_words

            words = lexical.words
            if words is None:
                log.info("spelling vocabulary: built from the store (the BM25 index predates words.json)")
                words = catalog_words(word_text(p) for p in self.store.iter_products())
            self._rewriter = (id(lexical), QueryRewriter(words, known_stem=lexical.knows_stem, stem=lexical.stem))
        return self._rewriter[1]

    def rewritten(self, query: str) -> str:
        """The query BM25 and the re-ranker read (``query`` itself when rewriting is off)."""
        rewriter = self.rewriter()
        return rewriter.rewrite(query).text if rewriter is not None else query

    def dense_text(self, query: str) -> str:
        return self.rewritten(query) if self.rewrite_dense else query

    def search(self, query: str, filters: SearchFilters | None = None, k: int = 50,
               mode: Mode = "hybrid") -> list[SearchHit]:
        """Top ``k`` products for ``query`` that pass ``filters``, each with its per-system scores."""
        filters = filters or SearchFilters()
        if not query.strip():
            return self._browse(filters, k)
        depth = max(self.fusion.depth, k)
        vector = self.embedder.encode([self.dense_text(query)])[0] if mode != "bm25" else None  # once
        hits = self._ranked(query, mode, depth, filters, k, vector)
        if len(hits) < k and filters.active():
            hits = self._ranked(query, mode, max(depth * 5, 1000), filters, k, vector)
        return hits

    def candidates(self, query: str, mode: Mode = "hybrid", depth: int = 200, vector=None,
                   filters: SearchFilters | None = None) -> tuple[list[str], dict, dict]:
        """Ranked ids without fetching products: (ids best first, fused score by id, raw scores by system).
        With ``filters``, both systems retrieve only among products the filters may keep
        (``retrieval.facets``); the caller still applies ``filters.accepts``. ``vector``: the query's
        embedding when the caller has it (of :meth:`dense_text`)."""
        bm25 = self._current_lexical()
        mask = bm25.facets.mask(filters, bm25.ids) if bm25 is not None and bm25.facets is not None and \
            filters is not None and filters.active() else None
        if mask is not None and not mask.any():
            return [], {}, {"bm25": {}, "dense": {}}
        lexical = bm25.search(self.rewritten(query), depth, mask) if bm25 and mode != "dense" else []
        if mode != "bm25" and vector is None:
            vector = self.embedder.encode([self.dense_text(query)])[0]
        allowed = None
        if mask is not None and mask.sum() <= PUSHDOWN_IDS:  # few enough to search exactly those vectors
            allowed = [bm25.ids[i] for i in np.flatnonzero(mask)]
        dense = self.vectors.query(vector, depth, ids=allowed) if mode != "bm25" else []
        raw = {"bm25": dict(lexical), "dense": dict(dense)}
        fused = fuse(lexical, dense, self.fusion) if mode == "hybrid" else raw[mode]
        return sorted(fused, key=fused.__getitem__, reverse=True), fused, raw

    def _ranked(self, query: str, mode: Mode, depth: int, filters: SearchFilters, k: int,
                vector=None) -> list[SearchHit]:
        order, fused, raw = self.candidates(query, mode, depth, vector, filters)
        known: dict[str, Product] = {}
        reranked = self._rerank(query, order, fused, raw, known) if mode == "hybrid" and self.reranker else None
        if reranked is not None:
            order = reranked[0]
        hits: list[SearchHit] = []
        for start in range(0, len(order), 4 * k):
            chunk = order[start:start + 4 * k]
            missing = [pid for pid in chunk if pid not in known]
            products = {**known, **self.store.get_products(missing)} if missing else known
            for pid in chunk:
                product = products.get(pid)  # an id missing from the store was deleted: skip it
                if product is None or not filters.accepts(product):
                    continue
                scores = {s: raw[s].get(pid, 0.0) for s in ("bm25", "dense")}
                scores[mode] = fused[pid]
                score = fused[pid]
                if reranked is not None:
                    score = scores["rerank"] = reranked[1][pid]
                hits.append(SearchHit(product, score, scores))
                if len(hits) == k:
                    return hits
        return hits

    def _rerank(self, query: str, order: list[str], fused: dict, raw: dict,
                known: dict) -> tuple[list[str], dict[str, float]] | None:
        """(new order, score by id) from the learned re-ranker; ids past its depth keep their order,
        scored below every re-ranked one. None (and the re-ranker switched off) if it fails."""
        try:
            known.update(self.store.get_products(order[:self.reranker.depth]))
            pool = Candidates(order, fused, raw["bm25"], raw["dense"], query=self.rewritten(query))
            new_order, scores = self.reranker.reorder(query, pool, known, self._current_lexical())
        except Exception as exc:  # noqa: BLE001 - a broken model must not break search
            log.warning("re-ranker failed (%s: %s); search is plain hybrid from now on", type(exc).__name__, exc)
            self.reranker = None
            return None
        floor = min(scores.values(), default=0.0)
        for rank, pid in enumerate(new_order[len(scores):]):
            scores[pid] = floor - 1.0 - rank * 1e-6
        return new_order, scores

    def _browse(self, filters: SearchFilters, k: int) -> list[SearchHit]:
        """No query text: the best-rated products passing the filters."""
        matching = [p for p in self.store.iter_products() if filters.accepts(p)]
        matching.sort(key=lambda p: (p.rating or 0.0), reverse=True)
        return [SearchHit(p, p.rating or 0.0, {"bm25": 0.0, "dense": 0.0, "hybrid": 0.0}) for p in matching[:k]]


def _encoder_fusion(embedder) -> FusionConfig | None:
    """The fusion stored with a fine-tuned encoder (``meta.json`` "fusion"), if any and valid."""
    import json

    if getattr(embedder, "path", None) is None:
        return None
    meta_file = Path(embedder.path) / "meta.json"
    try:
        fields = json.loads(meta_file.read_text()).get("fusion") if meta_file.is_file() else None
        return FusionConfig(**fields) if fields else None
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring the fusion stored in %s (%s)", meta_file, exc)
        return None

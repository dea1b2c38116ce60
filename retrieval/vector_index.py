"""The dense index: a Chroma collection of product vectors, on disk or on a Chroma server.

Chroma always gets our own embedding function (its default one downloads a model and fails
offline). Each entry's metadata carries the product's content hash, so the index can be
reconciled with the SQL store after a crash (see ``retrieval.ingest``).

HNSW settings are raised from Chroma's defaults (ef_search 10 gives poor recall on product
titles); ``eval/search_bench.py`` measures recall against exact search.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from chromadb import EmbeddingFunction, Documents, Embeddings

HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}


class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma adapter for :class:`retrieval.embedder.Embedder` (or any callable texts -> vectors)."""

    def __init__(self, embedder=None):
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's parameter name
        if self._embedder is None:
            raise RuntimeError("this collection was opened without an embedder; pass vectors instead of text")
        return [v for v in self._embedder.encode(list(input))]

    @staticmethod
    def name() -> str:
        return "shopassist-minilm"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> "MiniLMEmbeddingFunction":
        return MiniLMEmbeddingFunction()

    def is_legacy(self) -> bool:
        return False


def filter_metadata(product) -> dict:
    """Chroma metadata for filtering: price in USD (``catalog.currency``), brand, category path, colour."""
    from catalog.currency import convert

    meta = {"brand": (product.brand or "").lower(), "category": product.category_path.lower(),
            "colour": (product.attribute("colour") or "").lower()}
    if product.price is not None:
        meta["price_usd"] = float(convert(product.price, product.currency, "USD"))
    return meta


def collection_hashes(collection, page: int = 5000) -> dict[str, str]:
    """id -> content hash of every vector in a Chroma ``collection`` (read in pages)."""
    out: dict[str, str] = {}
    for offset in range(0, collection.count(), page):
        got = collection.get(include=["metadatas"], limit=page, offset=offset)
        out.update({i: (m or {}).get("hash", "") for i, m in zip(got["ids"], got["metadatas"])})
    return out


def open_client(folder: Path | None = None, url: str | None = None):
    """A Chroma client: ``HttpClient`` for a server URL, else ``PersistentClient`` in ``folder``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000,
                                   ssl=parsed.scheme == "https", settings=chroma_settings)
    if folder is None:
        raise ValueError("give a folder for the on-disk Chroma store or a Chroma server URL")
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)


class VectorIndex:
    """Product vectors in one Chroma collection.

    Args:
        client: a Chroma client from :func:`open_client`.
        name: the collection name (one per catalog and embedding model).
        embedder: used when a query is given as text.
    """

    def __init__(self, client, name: str, embedder=None):
        self.client = client
        self.name = name
        self.embedder = embedder
        self.collection = client.get_or_create_collection(
            name, embedding_function=MiniLMEmbeddingFunction(embedder),
            configuration={"hnsw": dict(HNSW)}, metadata={"owner": "shopassist"})

    def count(self) -> int:
        return self.collection.count()

    def hashes(self) -> dict[str, str]:
        """id -> content hash of every stored vector."""
        return collection_hashes(self.collection)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, hashes: Sequence[str],
               products: Sequence | None = None) -> None:
        """Store vectors tagged with content hashes (and, given ``products``, their filter values)."""
        step = max(1, min(5000, self.client.get_max_batch_size()))
        metadatas = [{"hash": h} for h in hashes]
        if products is not None:
            for meta, product in zip(metadatas, products):
                meta.update(filter_metadata(product))
        for start in range(0, len(ids), step):
            end = start + step
            self.collection.upsert(ids=list(ids[start:end]), embeddings=vectors[start:end],
                                   metadatas=metadatas[start:end])

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[start:start + 5000])

    def query(self, vector: np.ndarray, n: int, ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``n`` nearest ids with cosine similarity, best first (among ``ids`` when given)."""
        n = min(n, self.count() if ids is None else len(ids))
        if n == 0:
            return []
        restrict = {} if ids is None else {"ids": list(ids)}
        got = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"], **restrict)
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

"""The lexical index: BM25 (``bm25s``, with Snowball stemming) over title, brand, category and description.

Product search needs it: model numbers, brands and sizes are lexical. The title is counted twice
(a cheap field weight). The index is rebuilt from the store when the catalog fingerprint changes
(bm25s has no incremental updates; 54k titles take a few seconds) and saved atomically.

On disk (``<data_dir>/bm25/``)::

    meta.json            the one pointer: {"current": "v-<time>-<rand>", "fingerprint": ..., "format": 2}
    v-<time>-<rand>/     one complete index: bm25/ (bm25s files), ids.json, facets.json (filter values),
                         words.json (catalog word counts: the spelling vocabulary, ``retrieval.query_rewrite``)

:meth:`LexicalIndex.save` writes a new version folder completely (fsynced), then switches the
pointer with one ``os.replace`` (atomic on POSIX): a reader sees the old index or the new one, never
none. Old versions are removed after the switch (the newest two are kept, so a reader that read the
old pointer a moment ago still finds its folder). A crash mid-save leaves an unreferenced folder that
the next save cleans up. :func:`verify` tells a missing or corrupted index from a stale one.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from catalog.records import Product
from retrieval.facets import Facets

TOKEN_PATTERN = r"(?u)\b\w+\b"


def word_text(product: Product) -> str:
    """The text the spelling vocabulary counts (each field once)."""
    return " ".join(p for p in (product.title, product.brand or "", " ".join(product.category),
                                product.description[:500]) if p)


def document_text(product: Product) -> str:
    parts = [product.title, product.title, product.brand or "", " ".join(product.category),
             product.description[:500]]
    return " ".join(p for p in parts if p)


class LexicalIndex:
    """BM25 over products; ``search`` returns (id, score) best first."""

    def __init__(self, ids: list[str], retriever, fingerprint: str, facets: Facets | None = None,
                 words: dict[str, int] | None = None):
        self.ids = ids
        self.retriever = retriever
        self.fingerprint = fingerprint
        self.facets = facets  # filter values per document (None: an index saved before facets existed)
        self.words = words  # catalog word counts (None: an index saved before they were kept)
        self._stemmer = _stemmer()

    def knows_stem(self, stem: str) -> bool:
        return stem in self.retriever.vocab_dict if self.ids else False

    def stem(self, words: list[str]) -> list[str]:
        return self._stemmer(words)

    @classmethod
    def build(cls, products: list[Product], fingerprint: str, k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25(k1=k1, b=b)
        ids = [p.id for p in products]
        if products:
            tokens = bm25s.tokenize([document_text(p) for p in products], token_pattern=TOKEN_PATTERN,
                                    stopwords="en", stemmer=_stemmer(), show_progress=False)
            retriever.index(tokens, show_progress=False)
        from retrieval.query_rewrite import catalog_words

        return cls(ids, retriever, fingerprint, Facets.build(products), dict(catalog_words(map(word_text, products))))

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``n`` best (id, score); with ``mask`` (bool per document) only masked documents score."""
        import bm25s

        n = min(n, len(self.ids) if mask is None else int(mask.sum()))
        if n == 0 or not query.strip():
            return []
        tokens = bm25s.tokenize([query], token_pattern=TOKEN_PATTERN, stopwords="en", stemmer=self._stemmer,
                                show_progress=False, return_ids=False)
        known = [[t for t in tokens[0] if t in self.retriever.vocab_dict]]
        if not known[0]:
            return []
        weights = None if mask is None else mask.astype(np.float32)
        docs, scores = self.retriever.retrieve(known, k=n, show_progress=False, n_threads=1, weight_mask=weights)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def document_frequencies(self, stems) -> list[int] | None:
        """How many products contain each (stemmed) term; None for an empty index."""
        if not self.ids:
            return None
        indptr = self.retriever.scores["indptr"]  # bm25s keeps one column of the score matrix per term
        vocab = self.retriever.vocab_dict
        return [int(indptr[vocab[s] + 1] - indptr[vocab[s]]) if s in vocab else 0 for s in stems]

    def save(self, folder: Path) -> None:
        """Write a new version folder under ``folder``, then switch the pointer ``meta.json`` atomically."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            folder.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        _migrate_legacy(folder)
        version = f"v-{time.time_ns()}-{secrets.token_hex(3)}"
        target = folder / version
        target.mkdir()
        if self.ids:
            self.retriever.save(str(target / "bm25"), show_progress=False)
        _write_durably(target / "ids.json", json.dumps(self.ids))
        if self.facets is not None:
            self.facets.save(target / "facets.json")
        if self.words is not None:
            _write_durably(target / "words.json", json.dumps(self.words))
        for path in target.rglob("*"):
            if path.is_file():
                _fsync(path)
        _fsync_dir(target)
        pointer = {"format": 2, "current": version, "fingerprint": self.fingerprint, "count": len(self.ids)}
        tmp = folder / f".meta.{version}.tmp"
        _write_durably(tmp, json.dumps(pointer))
        os.replace(tmp, folder / "meta.json")  # the switch: one atomic rename
        _fsync_dir(folder)
        _clean_old_versions(folder, keep={version})

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        """The current index, or None when there is none. Raises :class:`CorruptIndex` when the
        pointer or the folder it names is unreadable."""
        import bm25s

        folder = Path(folder)
        meta_file = folder / "meta.json"
        if not meta_file.is_file():
            return None
        try:
            meta = json.loads(meta_file.read_text())
            if "current" in meta:  # format 2: a pointer to a version folder
                base = folder / meta["current"]
                ids = json.loads((base / "ids.json").read_text())
                if len(ids) != meta.get("count", len(ids)):
                    raise ValueError(f"{len(ids)} ids but the pointer says {meta.get('count')}")
            else:  # format 1 (before the pointer): ids inside meta.json, bm25/ beside it
                base, ids = folder, meta["ids"]
            retriever = bm25s.BM25.load(str(base / "bm25"), show_progress=False) if ids else bm25s.BM25()
            facets = Facets.load(base / "facets.json") if (base / "facets.json").is_file() else None
            if facets is not None and len(facets) != len(ids):
                raise ValueError(f"{len(facets)} facet rows for {len(ids)} ids")
            words = json.loads((base / "words.json").read_text()) if (base / "words.json").is_file() else None
            return cls(ids, retriever, meta["fingerprint"], facets, words)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptIndex(f"the BM25 index in {folder} is unreadable ({type(exc).__name__}: {exc}); "
                               "rebuild it from the store with `shopassist index rebuild`") from exc


class CorruptIndex(RuntimeError):
    """An index on disk that cannot be read; ``shopassist index rebuild`` rebuilds it from the store."""


def verify(folder: Path, fingerprint: str) -> str | None:
    """None when the BM25 index in ``folder`` loads and matches ``fingerprint``; else what is wrong."""
    try:
        index = LexicalIndex.load(folder)
    except CorruptIndex as exc:
        return f"corrupted: {exc}"
    if index is None:
        return "missing"
    if index.fingerprint != fingerprint:
        return "stale (built from another catalog version)"
    return None


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clean_old_versions(folder: Path, keep: set[str], keep_newest: int = 2) -> None:
    versions = sorted((p for p in folder.iterdir() if p.is_dir() and p.name.startswith("v-")),
                      key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else 0)
    survivors = {p.name for p in versions[-keep_newest:]} | keep
    for path in versions:
        if path.name not in survivors:
            shutil.rmtree(path, ignore_errors=True)
    for stray in folder.glob(".meta.*.tmp"):
        stray.unlink(missing_ok=True)
    shutil.rmtree(folder / "bm25", ignore_errors=True)  # the format-1 index, replaced by the pointer


def _migrate_legacy(folder: Path) -> None:
    """Remove format-1 leftovers (``bm25/`` beside ``meta.json``, ``bm25.tmp``/``bm25.old`` siblings)."""
    for sibling in (folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")):
        shutil.rmtree(sibling, ignore_errors=True)


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


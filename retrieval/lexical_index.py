"""The lexical index: BM25 (``bm25s``, with Snowball stemming) over title, brand, category and description.

Product search needs it: model numbers, brands and sizes are lexical. The title is counted twice
(a cheap field weight). The index is rebuilt from the store when the catalog fingerprint changes
(bm25s has no incremental updates; 54k titles take a few seconds) and saved atomically.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from catalog.records import Product

TOKEN_PATTERN = r"(?u)\b\w+\b"


def document_text(product: Product) -> str:
    parts = [product.title, product.title, product.brand or "", " ".join(product.category),
             product.description[:500]]
    return " ".join(p for p in parts if p)


class LexicalIndex:
    """BM25 over products; ``search`` returns (id, score) best first."""

    def __init__(self, ids: list[str], retriever, fingerprint: str):
        self.ids = ids
        self.retriever = retriever
        self.fingerprint = fingerprint
        self._stemmer = _stemmer()

    @classmethod
    def build(cls, products: list[Product], fingerprint: str, k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25(k1=k1, b=b)
        ids = [p.id for p in products]
        if products:
            tokens = bm25s.tokenize([document_text(p) for p in products], token_pattern=TOKEN_PATTERN,
                                    stopwords="en", stemmer=_stemmer(), show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(ids, retriever, fingerprint)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        import bm25s

        n = min(n, len(self.ids))
        if n == 0 or not query.strip():
            return []
        tokens = bm25s.tokenize([query], token_pattern=TOKEN_PATTERN, stopwords="en", stemmer=self._stemmer,
                                show_progress=False, return_ids=False)
        known = [[t for t in tokens[0] if t in self.retriever.vocab_dict]]
        if not known[0]:
            return []
        docs, scores = self.retriever.retrieve(known, k=n, show_progress=False, n_threads=1)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically (a temporary folder renamed into place)."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self.retriever.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "meta.json").write_text(json.dumps({"fingerprint": self.fingerprint, "ids": self.ids}))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        import bm25s

        meta_file = folder / "meta.json"
        if not meta_file.is_file():
            return None
        meta = json.loads(meta_file.read_text())
        retriever = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if meta["ids"] else bm25s.BM25()
        return cls(meta["ids"], retriever, meta["fingerprint"])


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


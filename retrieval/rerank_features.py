"""Features of (query, candidate) pairs for the learned re-ranker (``retrieval.reranker``).

One row per fused candidate, columns named in :data:`FEATURES`:

- the retrieval signals: fused score and rank, BM25 and dense scores and ranks (a candidate
  missing from one list gets that list's floor and ``in_*`` = 0), each also relative to the top;
- term overlap on stemmed, stop-word-free tokens (the BM25 tokeniser): query terms in the title
  (plain and IDF-weighted, IDF from the BM25 index), title terms in the query, missing terms,
  BM25 of the title alone, adjacent query pairs kept in the title, the whole query as a phrase, the
  last query word (often the product type) in the title and where, prefix matches for the rest and
  character trigrams (typos, compounds);
- numbers and units: "3/4 in", "10 ft", "18V" are read as (number, unit) pairs with unit aliases;
- brand, category and description overlap (-1 when the product has none: Home Depot has titles only);
- title length;
- whether the query was rewritten (``Candidates.query``: spelling and units, ``retrieval.query_rewrite``)
  and the trigram coverage of the query as typed. Every other term feature reads the rewritten query,
  the one BM25 retrieved with;
- list-relative gaps: a few term features minus their best value among the query's candidates
  (how far this title is from the best-matching one).

Example::

    featurizer = Featurizer()
    rows = featurizer.rows("18v drill", candidates, products, lexical_index)   # (n, len(FEATURES)) float32
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from catalog.records import Product

FEATURES = (
    "fused", "fused_rank", "fused_rel",
    "bm25", "bm25_rank", "bm25_rel", "in_bm25",
    "dense", "dense_rank", "dense_rel", "in_dense",
    "q_terms", "t_terms", "q_in_title", "idf_in_title", "idf_missing_max", "title_in_q", "q_missing",
    "bm25_title", "pairs_in_title", "phrase", "last_in_title", "last_pos", "first_pos", "prefix_match",
    "trigrams_in_title",
    "q_numbers", "numbers_in_title", "units_in_title", "title_numbers",
    "brand_match", "category_match", "description_match", "title_chars",
    "q_rewritten", "typed_trigrams_in_title",
    "q_in_title_gap", "idf_in_title_gap", "bm25_title_gap", "trigrams_gap", "units_gap",
)
# each *_gap: the feature minus its best value among the query's re-ranked candidates (list-relative)
_GAPS = (("q_in_title_gap", "q_in_title"), ("idf_in_title_gap", "idf_in_title"), ("bm25_title_gap", "bm25_title"),
         ("trigrams_gap", "typed_trigrams_in_title"), ("units_gap", "units_in_title"))

_INDEX = {name: i for i, name in enumerate(FEATURES)}
_WORD = re.compile(r"(?u)\b\w+\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# a number (3, 3.5, 3/4, 1-1/2) followed by a unit word or mark
_MEASURE = re.compile(r"(\d+(?:[.\-]\d+)?(?:\s*/\s*\d+)?)\s*(\"|'|[a-z]+\.?)")
_UNITS = {
    "in": "in", "inch": "in", "inches": "in", '"': "in",
    "ft": "ft", "foot": "ft", "feet": "ft", "'": "ft",
    "v": "v", "volt": "v", "volts": "v", "w": "w", "watt": "w", "watts": "w",
    "a": "amp", "amp": "amp", "amps": "amp", "ah": "ah",
    "gal": "gal", "gallon": "gal", "gallons": "gal", "qt": "qt", "quart": "qt", "oz": "oz", "ounce": "oz",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "mm": "mm", "cm": "cm", "m": "m", "sq": "sq", "btu": "btu", "psi": "psi", "cu": "cu",
    "gauge": "ga", "ga": "ga", "pc": "pc", "piece": "pc", "pieces": "pc", "pack": "pk", "pk": "pk",
    "ml": "ml", "l": "l", "kg": "kg", "g": "g", "x": "x",
}


@dataclass(frozen=True)
class Candidates:
    """One query's fused candidates: ids best first, fused score by id, raw scores by system, and the
    rewritten query they were retrieved with (``retrieval.query_rewrite``; None: the query as typed)."""

    order: list[str]
    fused: Mapping[str, float]
    bm25: Mapping[str, float]
    dense: Mapping[str, float]
    query: str | None = None


@dataclass(frozen=True)
class Terms:
    """The parts of a text the features compare."""

    stems: tuple[str, ...]
    words: frozenset[str]  # lower-case raw tokens (for prefix matches)
    numbers: frozenset[str]
    measures: frozenset[tuple[str, str]]
    trigrams: frozenset[str]


class Featurizer:
    """Computes :data:`FEATURES`; IDF comes from the BM25 index given to :meth:`rows` (``None``: 1 each)."""

    def __init__(self):
        import bm25s.stopwords
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords
        self._stop = frozenset(bm25s.stopwords.STOPWORDS_EN)

    def terms(self, text: str) -> Terms:
        lower = text.lower()
        words = [w for w in _WORD.findall(lower) if w not in self._stop]
        measures = set()
        for number, unit in _MEASURE.findall(lower):
            canonical = _UNITS.get(unit.rstrip("."))
            if canonical:
                measures.add((re.sub(r"\s+", "", number), canonical))
        trigrams = {w[i:i + 3] for w in words if len(w) >= 3 for i in range(len(w) - 2)}
        return Terms(tuple(self._stem(words)), frozenset(words), frozenset(_NUMBER.findall(lower)),
                     frozenset(measures), frozenset(trigrams))

    @staticmethod
    def idf(stems: tuple[str, ...], lexical=None) -> list[float]:
        """BM25's IDF of each stem in ``lexical`` (a ``LexicalIndex``); 1.0 each without one."""
        frequencies = lexical.document_frequencies(stems) if lexical is not None else None
        if frequencies is None:
            return [1.0] * len(stems)
        n = max(1, len(lexical.ids))
        return [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in frequencies]

    def rows(self, query: str, candidates: Candidates, products: Mapping[str, Product],
             lexical=None, depth: int | None = None, title_terms: Mapping[str, Terms] | None = None) -> np.ndarray:
        """Feature rows for the first ``depth`` candidates (all by default), in candidate order.
        ``title_terms`` may hold precomputed :meth:`terms` of titles by id (training)."""
        ids = candidates.order[:depth] if depth else candidates.order
        rewritten = candidates.query if candidates.query is not None else query
        query_terms = self.terms(rewritten)
        typed = self.terms(query) if rewritten != query else query_terms
        changed = float(rewritten.lower().split() != query.lower().split())
        idf = dict(zip(query_terms.stems, self.idf(query_terms.stems, lexical)))
        ranks = {system: {pid: r for r, pid in enumerate(sorted(scores, key=scores.__getitem__, reverse=True))}
                 for system, scores in (("bm25", candidates.bm25), ("dense", candidates.dense))}
        out = np.zeros((len(ids), len(FEATURES)), dtype=np.float32)
        top_fused = candidates.fused[ids[0]] if ids else 1.0
        bounds = {s: (max(v.values(), default=0.0), min(v.values(), default=0.0))
                  for s, v in (("bm25", candidates.bm25), ("dense", candidates.dense))}
        for row, pid in enumerate(ids):
            product = products.get(pid)
            title = (title_terms or {}).get(pid) or self.terms(product.title if product else "")
            values = self._retrieval(pid, row, candidates, ranks, bounds, top_fused)
            values += self._overlap(query_terms, title, idf)
            values += self._fields(query_terms, product)
            values += [changed, len(typed.trigrams & title.trigrams) / len(typed.trigrams) if typed.trigrams else -1.0]
            out[row, :len(values)] = values
        if len(ids):
            for gap, name in _GAPS:
                column = out[:, _INDEX[name]]
                out[:, _INDEX[gap]] = column - column.max()
        return out

    @staticmethod
    def _retrieval(pid: str, rank: int, c: Candidates, ranks: dict, bounds: dict, top_fused: float) -> list[float]:
        fused = c.fused.get(pid, 0.0)
        values = [fused, float(rank), fused / top_fused if top_fused else 0.0]
        for system, scores in (("bm25", c.bm25), ("dense", c.dense)):
            top, floor = bounds[system]
            present = pid in scores
            score = scores[pid] if present else floor
            values += [score, float(ranks[system].get(pid, len(scores))),
                       (score / top if system == "bm25" and top else score - top), float(present)]
        return values

    @staticmethod
    def _overlap(q: Terms, t: Terms, idf: Mapping[str, float]) -> list[float]:
        q_stems, t_set = q.stems, set(t.stems)
        matched = [s in t_set for s in q_stems]
        bm25_title = 0.0  # BM25 (k1=1.2, b=0.75) of the title alone, average title length 12 terms
        norm = 1.2 * (0.25 + 0.75 * len(t.stems) / 12)
        for s in set(q_stems) & t_set:
            tf = t.stems.count(s)
            bm25_title += idf.get(s, 1.0) * tf * 2.2 / (tf + norm)
        first = min((t.stems.index(s) for s in set(q_stems) & t_set), default=-1)
        n_q = len(q_stems)
        total_idf = sum(idf.get(s, 1.0) for s in q_stems) or 1.0
        pairs = list(zip(q_stems, q_stems[1:]))
        title_pairs = set(zip(t.stems, t.stems[1:]))
        phrase = " ".join(q_stems) in " ".join(t.stems) if q_stems else False
        last = q_stems[-1] if q_stems else None
        last_pos = t.stems.index(last) / max(1, len(t.stems)) if last in t_set else -1.0
        unmatched = [w for w in q.words if w not in t.words]
        prefix = sum(any(len(w) >= 3 and (x.startswith(w) or w.startswith(x)) for x in t.words if len(x) >= 3)
                     for w in unmatched)
        q_set = set(q_stems)
        numbers = len(q.numbers & t.numbers) / len(q.numbers) if q.numbers else -1.0
        units = len(q.measures & t.measures) / len(q.measures) if q.measures else -1.0
        return [
            float(n_q), float(len(t.stems)),
            sum(matched) / n_q if n_q else 0.0,
            sum(idf.get(s, 1.0) for s, m in zip(q_stems, matched) if m) / total_idf,
            max((idf.get(s, 1.0) for s, m in zip(q_stems, matched) if not m), default=0.0),
            sum(s in q_set for s in t.stems) / len(t.stems) if t.stems else 0.0,
            float(n_q - sum(matched)), bm25_title,
            sum(p in title_pairs for p in pairs) / len(pairs) if pairs else -1.0,
            float(phrase), float(last in t_set) if last else 0.0, last_pos,
            first / max(1, len(t.stems)) if first >= 0 else -1.0,
            prefix / len(unmatched) if unmatched else -1.0,
            len(q.trigrams & t.trigrams) / len(q.trigrams) if q.trigrams else -1.0,
            float(len(q.numbers)), numbers, units, float(len(t.numbers)),
        ]

    def _fields(self, q: Terms, product: Product | None) -> list[float]:
        if product is None:
            return [-1.0, -1.0, -1.0, 0.0]
        q_set = set(q.stems)

        def share(text: str) -> float:
            if not text or not q_set:
                return -1.0
            return len(q_set & set(self.terms(text).stems)) / len(q_set)

        brand = -1.0
        if product.brand:
            brand_stems = set(self.terms(product.brand).stems)
            brand = float(bool(brand_stems) and brand_stems <= q_set)
        return [brand, share(" ".join(product.category)), share(product.description[:300]), float(len(product.title))]

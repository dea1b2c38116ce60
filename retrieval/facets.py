"""Filterable product values kept beside the BM25 index, so filters are applied *inside* retrieval.

One entry per BM25 document (same order as ``LexicalIndex.ids``): the price and its currency (and
the price in USD via ``catalog.currency``), brand, category path and colour, lower-cased.
:meth:`Facets.mask` turns :class:`retrieval.search.SearchFilters` into a boolean mask over the
documents that is a *superset* of what ``SearchFilters.accepts`` keeps: exact for price, brands,
category, colour attributes and excluded ids; products without a brand or a colour attribute stay in
(``accepts`` may still match them by their text), excluded words are left to ``accepts``. BM25 then
scores only masked documents and Chroma searches only their ids, and ``accepts`` makes the result
exact, so a selective filter still returns ``k`` products.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from catalog.currency import USD_PER_UNIT
from catalog.records import Product


class Facets:
    def __init__(self, price: np.ndarray, currency: list[str], brand: list[str], category: list[str], colour: list[str]):
        self.price = price  # float64, NaN when unknown
        self.currency = np.array(currency, dtype=object)
        self.rate = np.array([USD_PER_UNIT.get(c, np.nan) for c in currency], dtype=np.float64)
        self._codes = {name: np.unique(np.array(values, dtype=object), return_inverse=True)
                       for name, values in (("brand", brand), ("category", category), ("colour", colour))}

    @classmethod
    def build(cls, products: Iterable[Product]) -> "Facets":
        price, currency, brand, category, colour = [], [], [], [], []
        for p in products:
            price.append(np.nan if p.price is None else p.price)
            currency.append(p.currency or "")
            brand.append((p.brand or "").lower())
            category.append(p.category_path.lower())
            colour.append((p.attribute("colour") or "").lower())
        return cls(np.array(price, dtype=np.float64), currency, brand, category, colour)

    def __len__(self) -> int:
        return len(self.price)

    def save(self, path: Path) -> None:
        values = {name: [str(u) for u in uniques[inverse]] for name, (uniques, inverse) in self._codes.items()}
        price = [None if np.isnan(p) else float(p) for p in self.price]
        Path(path).write_text(json.dumps({"price": price, "currency": list(self.currency), **values}))

    @classmethod
    def load(cls, path: Path) -> "Facets":
        data = json.loads(Path(path).read_text())
        price = np.array([np.nan if p is None else p for p in data["price"]], dtype=np.float64)
        return cls(price, data["currency"], data["brand"], data["category"], data["colour"])

    def _matching(self, name: str, test) -> np.ndarray:
        """Mask of products whose ``name`` value passes ``test`` (evaluated once per distinct value)."""
        uniques, inverse = self._codes[name]
        return np.array([bool(test(u)) for u in uniques], dtype=bool)[inverse]

    def mask(self, filters, ids: list[str] | None = None) -> np.ndarray | None:
        """Products that may pass ``filters`` (None when no filter narrows anything)."""
        keep = np.ones(len(self), dtype=bool)
        narrowed = False
        if filters.price_min is not None or filters.price_max is not None:
            narrowed = True
            price = self.price.copy()
            target = USD_PER_UNIT.get(filters.currency or "")
            if target:  # as catalog.currency.convert: only known currencies on both sides convert
                known = ~np.isnan(self.rate)
                price[known] = self.price[known] * self.rate[known] / target
            with np.errstate(invalid="ignore"):
                keep &= ~np.isnan(price)
                if filters.price_min is not None:
                    keep &= price >= filters.price_min
                if filters.price_max is not None:
                    keep &= price <= filters.price_max
        if filters.brands:
            narrowed = True
            wanted = {b.lower() for b in filters.brands}
            keep &= self._matching("brand", lambda b: not b or b in wanted)
        if filters.brands_exclude:
            narrowed = True
            unwanted = {b.lower() for b in filters.brands_exclude}
            keep &= self._matching("brand", lambda b: b not in unwanted)
        if filters.category:
            narrowed = True
            needle = filters.category.lower()
            keep &= self._matching("category", lambda c: needle in c)
        if filters.colour:
            narrowed = True
            word = re.compile(rf"\b{re.escape(filters.colour.lower())}\b")
            keep &= self._matching("colour", lambda c: not c or word.search(c))
        if filters.exclude_ids and ids is not None:
            narrowed = True
            keep &= ~np.isin(np.array(ids, dtype=object), list(filters.exclude_ids))
        return keep if narrowed else None

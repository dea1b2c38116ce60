"""Attribute extraction from title and description: cheap compiled rules, precision over recall.

:class:`AttributeExtractor` finds ``colour``, ``size``, ``material``, ``gender`` (gender *or* age
group: women, men, girls, boys, kids, baby, unisex) and ``brand`` in a product's text and returns
them as ``Attribute(value, source="extracted")``. It never overwrites what the record already has
(a given attribute, or ``Product.brand``). The rules trust, in this order:

1. keyed text (``color: red``, ``material: cotton``, ``ideal for women``, ``size: xl``, ``brand: aw``);
2. the title (``Women's Cotton Kurta``, ``GE 24 in. Gas Wall Oven in Black``, a known brand at the start);
3. nothing else: free description text is too noisy (``gold plated``, ``Spider-Man``, ``baby doll``).

A keyed value outside the vocabulary (``color: wine red``, ``fabric: poly crepe``) is returned in
:attr:`Extraction.unmatched`; :func:`catalog.enrich.enrich` maps it onto the vocabulary with the
MiniLM encoder (:class:`VocabularyMatcher`). The vocabulary lives in :mod:`catalog.attribute_vocab`.

Example::

    >>> ex = AttributeExtractor(brands=["Hornby"])
    >>> found = ex.extract_text("Hornby Women's Cotton Tee (XL)", "colour: navy blue")
    >>> sorted((k, v) for k, v in found.values.items())
    [('brand', 'Hornby'), ('colour', 'navy'), ('gender', 'women'), ('material', 'cotton'), ('size', 'xl')]
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from catalog.attribute_vocab import (COLOUR_ALIASES, COLOUR_BLOCKERS, COLOUR_KEY_ONLY, GARMENT_SIZES,
                                     GENDER_ALIASES, MATERIAL_ALIASES, MATERIAL_TITLE_OK, NOT_BRANDS, SIZE_UNITS)
from catalog.records import Attribute, Product

ATTRIBUTE_NAMES: tuple[str, ...] = ("colour", "size", "material", "gender", "brand")
# Words before "colour" that describe a part, not the product ("strap color brown").
_PART_WORDS = frozenset(("strap", "dial", "frame", "lens", "sole", "stone", "bezel", "case", "ink", "light", "body", "base",
               "shade", "inner", "lining", "border", "print", "thread", "handle", "cover", "bottom", "top", "eye", "hair",
                         "insole", "face", "upper", "lens", "filling", "padding", "foam"))
# Title gender forms that are not names ("Spider-Man", "Baby Annabell" are left alone).
_TITLE_GENDER = ("women", "womens", "women's", "ladies", "men", "mens", "men's", "gents", "girls", "girl's",
                 "boys", "boy's", "kids", "kid's", "children's", "childrens", "unisex", "infant", "infants",
                 "newborn", "toddler", "toddlers", "baby boy", "baby girl", "baby boys", "baby girls",
                 "baby boy's", "baby girl's", "men & women", "men and women", "boys & girls", "boys and girls")


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first, so ``navy blue`` wins over ``navy``."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _combine_genders(values: set[str]) -> str | None:
    """One gender from several mentions: men+women -> unisex, boys+girls -> kids, else only if single."""
    if {"men", "women"} <= values or "unisex" in values:
        return "unisex"
    if {"boys", "girls"} <= values:
        return "kids"
    return next(iter(values)) if len(values) == 1 else None


def normalise_size(text: str) -> str:
    """Canonical size text: lower case, units from :data:`SIZE_UNITS`, ``x`` between dimensions."""
    text = text.lower().replace("×", "x")
    pairs = []
    for number, unit in re.findall(r"(\d+(?:[.\-/ ]\d+)*(?:/\d+)?)\s*(cu\.? ft\.?|(?!x\b)[a-wyz\"'][a-z\"']*\.?)?", text):
        pairs.append([number, SIZE_UNITS.get(unit.strip(), unit.strip(".")) if unit else ""])
    for i in range(len(pairs) - 2, -1, -1):  # "280 x 330 mm": a bare number takes the next unit
        if not pairs[i][1]:
            pairs[i][1] = pairs[i + 1][1]
    return " x ".join(f"{n} {u}".strip() for n, u in pairs) if pairs else text.strip()


@dataclass
class Extraction:
    """What the rules found in one product: canonical ``values`` and keyed ``unmatched`` free values."""

    values: dict[str, str] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)


class AttributeExtractor:
    """Compiled rules for one catalog. Build once per ingest batch; :meth:`extract` is cheap (~0.1 ms).

    Args:
        brands: known brand names (from the catalog's records); a title that starts with one gets it.
            Names in :data:`NOT_BRANDS` or shorter than 2 characters are ignored.
    """

    def __init__(self, brands: Iterable[str] = ()):
        self.brands: dict[str, str] = {}
        for brand in brands:
            key = " ".join(str(brand).lower().split())
            if len(key) >= 2 and key not in NOT_BRANDS and not key.isdigit():
                self.brands.setdefault(key, str(brand).strip())
        colours = _alternation(COLOUR_ALIASES)
        materials = _alternation(MATERIAL_ALIASES)
        genders = _alternation(GENDER_ALIASES)
        garment = _alternation(GARMENT_SIZES)
        units = _alternation(SIZE_UNITS)
        self._colour_key = re.compile(rf"\bcolou?r(?:\(s\))?(?: name)?\s*[:\-]?\s*(?:is\s+)?({colours})\b")
        self._colour_free = re.compile(r"\bcolou?r\s*:\s*([a-z]+(?: [a-z]+)?)")
        self._colour_title = re.compile(rf"\b({colours})\b(?!\s*(?:{_alternation(COLOUR_BLOCKERS)})\b)")
        self._material_key = re.compile(
            rf"\b(?:(?:(?:outer |upper |main |base |body )?material|fabric)\s*[:\-]?\s*|made (?:of|from|with) (?:[a-z]+ ){{0,2}})"
            rf"(?:high quality |premium |durable |soft |sturdy |100% |pure )*({materials})\b")
        self._material_free = re.compile(r"\b(?:material|fabric)\s*:\s*([a-z]+(?: [a-z]+)?)")
        self._material_title = re.compile(rf"\b({_alternation(MATERIAL_TITLE_OK | {'wooden', 'woolen', 'woollen', 'aluminum'})})\b")
        self._gender_key = re.compile(rf"\b(?:ideal for|suitable for|gender)\s*[:\-]?\s*((?:{genders})(?:\s*(?:,|&|and|/)\s*(?:{genders}))*)\b")
        self._gender_any = re.compile(rf"\b({genders})(?![\w'])")
        self._gender_title = re.compile(rf"(?<![\w\-])({_alternation(_TITLE_GENDER)})(?![\w'\-])")
        self._size_key = re.compile(rf"\bsize\s*[:\-]?\s*({garment}|\d+(?:\.\d+)?(?:-\d+)?)(?![\w.])")
        self._size_bracket = re.compile(rf"[(\[]\s*(?:size\s*)?({garment})\s*[)\]]")
        self._size_free = re.compile(r"\b(free size|one size)\b")
        number = r"\d+(?:\.\d+)?(?:[-\s]\d+/\d+|/\d+)?"
        dim = rf"{number}\s*(?:cu\.?\s?ft\.?|in\.|inch(?:es)?\b|\"|''|(?:ft|cm|mm|ml|ltr|litres?|liters?|gal|qt)\b\.?|(?:m|l)\b(?!\.?\w))"
        plain_dims = rf"{number}(?:\s*x\s*{number})+\s*(?:cm|mm|in\.|inch(?:es)?\b|ft\b\.?|m\b)"
        self._size_dim = re.compile(rf"(?<![\w.])({plain_dims}|{dim}(?:\s*(?:[a-z]\.?\s*)?x\s*{dim})*)", re.I)
        self._units = units
        self._brand_start = (re.compile(rf"^({_alternation(self.brands)})(?![\w])") if self.brands else None)
        self._brand_key = re.compile(r"\bbrand\s*:\s*([a-z0-9][\w&'\-]*(?: [a-z0-9][\w&'\-]*){0,2})\s*(?=[,.;\n]|$)")

    # -- one attribute each ------------------------------------------------------------------
    @staticmethod
    def _product_colour(regex: re.Pattern, text: str) -> str | None:
        """The first keyed value not about a part (``strap color brown``, ``sole material pvc`` are skipped)."""
        for match in regex.finditer(text):
            before = text[max(0, match.start() - 12):match.start()].split()
            if not before or before[-1] not in _PART_WORDS:
                return match.group(1)
        return None

    def _colour(self, title: str, desc: str, out: Extraction) -> None:
        keyed = self._product_colour(self._colour_key, desc) or self._product_colour(self._colour_key, title)
        if keyed:
            out.values["colour"] = COLOUR_ALIASES[keyed]
            return
        found = {COLOUR_ALIASES[m] for m in self._colour_title.findall(title)} - COLOUR_KEY_ONLY
        if len(found) == 1:
            out.values["colour"] = found.pop()
        elif not found and (free := self._product_colour(self._colour_free, desc)):
            if free not in COLOUR_ALIASES:
                out.unmatched["colour"] = free

    def _material(self, title: str, desc: str, out: Extraction) -> None:
        keyed = self._product_colour(self._material_key, desc) or self._product_colour(self._material_key, title)
        if keyed:
            out.values["material"] = MATERIAL_ALIASES[keyed]
            return
        found = {MATERIAL_ALIASES[m] for m in self._material_title.findall(title)}
        if len(found) == 1:
            out.values["material"] = found.pop()
        elif not found and (free := self._material_free.search(desc)):
            out.unmatched["material"] = free.group(1)

    def _gender(self, title: str, desc: str, out: Extraction) -> None:
        match = self._gender_key.search(desc) or self._gender_key.search(title)
        if match:
            values = {GENDER_ALIASES[g] for g in self._gender_any.findall(match.group(1))}
        else:
            if self._brand_start and (brand := self._brand_start.search(title)):
                title = title[brand.end():]  # "chinmay kids mosquito net": the brand says nothing
            values = {GENDER_ALIASES[g] for g in self._gender_title.findall(title)}
        gender = _combine_genders(values)
        if gender:
            out.values["gender"] = gender

    def _size(self, title: str, desc: str, out: Extraction) -> None:
        match = self._size_key.search(title) or self._size_bracket.search(title) or self._size_key.search(desc)
        if match:
            value = match.group(1)
            text = match.string
            dim = self._size_dim.match(text, match.start(1)) if value[0].isdigit() else None
            out.values["size"] = normalise_size(dim.group(1)) if dim else GARMENT_SIZES.get(value, value)
            return
        if self._size_free.search(title) or self._size_free.search(desc):
            out.values["size"] = "free size"
            return
        dim = self._size_dim.search(title)
        if dim:
            out.values["size"] = normalise_size(dim.group(1))

    def _brand(self, title: str, desc: str, out: Extraction) -> None:
        if self._brand_start and (match := self._brand_start.search(title)):
            out.values["brand"] = self.brands[match.group(1)]
            return
        match = self._brand_key.search(desc)
        if match:
            key = match.group(1)
            if key in self.brands:
                out.values["brand"] = self.brands[key]
            elif key not in NOT_BRANDS and title.startswith(key):
                out.values["brand"] = key

    # -- public ------------------------------------------------------------------------------
    def extract_text(self, title: str, description: str = "", skip: Iterable[str] = ()) -> Extraction:
        """Run the rules on raw text; ``skip`` names attributes the record already has."""
        title_l = " ".join(title.lower().split())
        desc_l = " ".join(description[:2500].lower().split())[:2000]
        out = Extraction()
        skip = set(skip)
        for name, rule in (("colour", self._colour), ("material", self._material), ("gender", self._gender),
                           ("size", self._size), ("brand", self._brand)):
            if name not in skip:
                rule(title_l, desc_l, out)
        return out

    def extract(self, product: Product) -> Extraction:
        """Rules for one product, skipping what it already has (given attributes and ``brand``)."""
        skip = set(product.attributes)
        if product.brand:
            skip.add("brand")
        return self.extract_text(product.title, product.description, skip)


class VocabularyMatcher:
    """Maps free keyed values (``wine red``) onto the canonical vocabulary with the MiniLM encoder.

    The canonical values of ``colour`` and ``material`` are encoded once (when the object is built);
    a free value is accepted when its cosine to the best value is at least ``min_similarity`` and
    beats the runner-up by ``min_margin``. Encoding a handful of short values costs a few ms.

    Args:
        encode: ``list[str] -> np.ndarray`` of L2-normalised float32 rows (e.g. ``Embedder.encode``).
    """

    def __init__(self, encode, min_similarity: float = 0.8, min_margin: float = 0.05,
                 vocabularies: Mapping[str, Iterable[str]] | None = None):
        vocabularies = vocabularies or {"colour": set(COLOUR_ALIASES.values()),
                                        "material": set(MATERIAL_ALIASES.values())}
        self.encode = encode
        self.min_similarity, self.min_margin = min_similarity, min_margin
        self._values = {name: sorted(values) for name, values in vocabularies.items()}
        self._vectors = {name: np.asarray(encode([f"{v} {name}" for v in values]), dtype=np.float32)
                         for name, values in self._values.items()}

    def match(self, requests: list[tuple[str, str]]) -> list[str | None]:
        """For ``[(attribute, free value), ...]`` return the canonical value or ``None`` for each."""
        if not requests:
            return []
        vectors = np.asarray(self.encode([f"{value} {name}" for name, value in requests]), dtype=np.float32)
        results: list[str | None] = []
        for (name, _), vector in zip(requests, vectors):
            if name not in self._vectors:
                results.append(None)
                continue
            sims = self._vectors[name] @ vector
            order = np.argsort(-sims)
            best, second = sims[order[0]], (sims[order[1]] if len(order) > 1 else -1.0)
            ok = best >= self.min_similarity and best - second >= self.min_margin
            results.append(self._values[name][order[0]] if ok else None)
        return results


def as_attributes(values: Mapping[str, str]) -> dict[str, Attribute]:
    """Wrap extracted values as ``Attribute(value, source="extracted")``."""
    return {name: Attribute(value=value, source="extracted") for name, value in values.items()}

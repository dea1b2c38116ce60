"""The ingest entry point: fill in missing attributes and categories on a batch of products.

:func:`enrich` is the one call the ingest pipeline makes, after loading a batch and embedding it:

1. **Rules** (:class:`catalog.attributes.AttributeExtractor`): colour, size, material, gender/age
   group and brand from title and description, for products that lack them;
2. **Encoder, vocabulary**: a keyed value outside the vocabulary (``color: wine red``) is mapped to
   the nearest canonical value with the MiniLM encoder (:class:`catalog.attributes.VocabularyMatcher`);
3. **Encoder, neighbours**: a product still without ``gender`` takes it from its nearest products
   that have one, only when they agree strongly (``gender_min_share``);
4. **Category**: a product with no category gets a path from the catalog's own taxonomy by a
   hierarchical kNN vote of its categorised neighbours (:class:`catalog.categorize.NeighbourVote`),
   ``category_source="predicted"``.

Given attributes under another name count as given (``ideal for`` is ``gender``, ``fabric`` is
``material``): nothing given is ever overwritten; a canonical copy is added with source ``given``
so filters see one name. Extracted values have source ``extracted``, neighbour votes ``predicted``.
A brand found in the text fills ``Product.brand`` and ``attributes["brand"]`` (source ``extracted``).

Example (the ingest's call; ``vectors`` are the rows it already computed for ``p.search_text()``)::

    from catalog.enrich import enrich, Reference
    reference = Reference.from_products(stored_products, stored_vectors)   # optional
    products = enrich(products, embedder.encode, reference, vectors=vectors)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from catalog.attribute_vocab import COLOUR_ALIASES, GENDER_ALIASES, MATERIAL_ALIASES
from catalog.attributes import AttributeExtractor, VocabularyMatcher, as_attributes
from catalog.categorize import NeighbourVote
from catalog.records import Attribute, Product

Encode = Callable[[list[str]], np.ndarray]
# Canonical attribute name -> names under which files give it (first found wins).
GIVEN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "colour": ("colour", "color"), "size": ("size",), "brand": ("brand",),
    "material": ("material", "fabric", "outer material", "base material"),
    "gender": ("gender", "ideal for"),
}
_CANONICAL = {"colour": COLOUR_ALIASES, "material": MATERIAL_ALIASES, "gender": GENDER_ALIASES}


@dataclass(frozen=True)
class EnrichOptions:
    """Knobs of :func:`enrich` (defaults measured in docs/attributes.md).

    Attributes:
        k: neighbours that vote on a category or a gender.
        category_min_share: vote share a category branch needs at each level (0 = always a full path).
        category_min_similarity: neighbours below this cosine do not vote.
        gender_by_neighbours: step 3 on/off (off: it lowered gender precision on the hand labels).
        gender_min_share: vote share the neighbours' gender needs (high: precision over recall).
        vocabulary_matching: step 2 on/off.
        vocabulary_min_similarity: cosine a free value needs to its canonical value.
    """

    k: int = 10
    category_min_share: float = 0.5
    category_min_similarity: float = 0.2
    gender_by_neighbours: bool = False
    gender_min_share: float = 0.9
    vocabulary_matching: bool = True
    vocabulary_min_similarity: float = 0.8


@dataclass
class Reference:
    """Already categorised products the vote may use (e.g. the store's), as vectors plus labels.

    Build it with :meth:`from_products` from products and the vectors of their ``search_text()``.
    """

    vectors: np.ndarray
    categories: list[list[str]]
    genders: list[str | None]
    brands: list[str] = field(default_factory=list)

    @classmethod
    def from_products(cls, products: Sequence[Product], vectors: np.ndarray) -> "Reference":
        if len(products) != len(vectors):
            raise ValueError(f"Reference needs one vector per product: {len(products)} products, {len(vectors)} vectors")
        return cls(np.asarray(vectors, dtype=np.float32), [list(p.category) for p in products],
                   [canonical_given(p).get("gender") for p in products],
                   [p.brand for p in products if p.brand])

    @classmethod
    def empty(cls, dim: int) -> "Reference":
        return cls(np.zeros((0, dim), dtype=np.float32), [], [], [])

    def extend(self, other: "Reference") -> "Reference":
        return Reference(np.vstack([self.vectors, other.vectors]), self.categories + other.categories,
                         self.genders + other.genders, self.brands + other.brands)


def canonical_given(product: Product) -> dict[str, str]:
    """Given attributes under their canonical names, values mapped onto the vocabulary where known."""
    out: dict[str, str] = {}
    for name, synonyms in GIVEN_SYNONYMS.items():
        for synonym in synonyms:
            given = product.attributes.get(synonym)
            if given is not None and given.source == "given":
                raw = " ".join(given.value.lower().split())
                table = _CANONICAL.get(name, {})
                if name == "gender" and "," in raw:
                    parts = {table.get(p.strip()) for p in raw.split(",")}
                    out[name] = "unisex" if {"men", "women"} <= parts else ("kids" if {"boys", "girls"} <= parts else raw)
                else:
                    out[name] = table.get(raw, raw)
                break
    return out


def enrich(products: list[Product], encode: Encode, reference: Reference | None = None, *,
           vectors: np.ndarray | None = None, options: EnrichOptions = EnrichOptions()) -> list[Product]:
    """Return copies of ``products`` with missing attributes and categories filled in, same order.

    Args:
        products: one ingest batch.
        encode: ``list[str] -> (n, d)`` L2-normalised float32 (``retrieval.embedder.Embedder.encode``);
            used for the vectors when ``vectors`` is None, and for the few free keyed values.
        reference: categorised products outside this batch to vote with (the batch's own categorised
            products always vote too). ``None``: the batch alone.
        vectors: the rows the ingest already computed for ``[p.search_text() for p in products]``;
            pass them, or enrich encodes the batch again (the slow part: ~230 texts/s on 2 cores).
        options: thresholds, see :class:`EnrichOptions`.
    """
    if not products:
        return []
    if vectors is None:
        vectors = encode([p.search_text() for p in products])
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) != len(products):
        raise ValueError(f"enrich needs one vector per product: {len(products)} products, {len(vectors)} vectors")
    batch_ref = Reference.from_products(products, vectors)
    ref = batch_ref if reference is None else reference.extend(batch_ref)

    extractor = AttributeExtractor(ref.brands)
    updates: list[dict[str, Attribute]] = []
    brands: list[str | None] = []
    unmatched: list[tuple[int, str, str]] = []
    for i, product in enumerate(products):
        given = canonical_given(product)
        new = {name: Attribute(value=value, source="given") for name, value in given.items()
               if name not in product.attributes and name != "brand"}
        found = extractor.extract_text(product.title, product.description,
                                       skip=set(given) | set(product.attributes) | ({"brand"} if product.brand else set()))
        new.update(as_attributes(found.values))
        unmatched += [(i, name, value) for name, value in found.unmatched.items()]
        updates.append(new)
        brands.append(found.values.get("brand"))

    if options.vocabulary_matching and unmatched:
        matcher = VocabularyMatcher(encode, min_similarity=options.vocabulary_min_similarity)
        for (i, name, _), value in zip(unmatched, matcher.match([(n, v) for _, n, v in unmatched])):
            if value is not None:
                updates[i][name] = Attribute(value=value, source="extracted")

    if options.gender_by_neighbours:
        _vote_gender(products, vectors, ref, updates, options)

    predictions = _predict_categories(products, vectors, ref, options)
    out = []
    for i, product in enumerate(products):
        change: dict = {}
        if updates[i]:
            change["attributes"] = {**product.attributes, **updates[i]}
        if brands[i] and not product.brand:
            change["brand"] = brands[i]
        if i in predictions:
            change["category"], change["category_source"] = predictions[i], "predicted"
        out.append(product.model_copy(update=change) if change else product)
    return out


def _vote_gender(products, vectors, ref: Reference, updates, options: EnrichOptions) -> None:
    """Step 3: gender from neighbours that have one (given or found by the rules in this batch)."""
    missing = [i for i, p in enumerate(products) if "gender" not in p.attributes and "gender" not in updates[i]]
    offset = len(ref.genders) - len(products)  # the batch is the tail of ref (see enrich)
    genders = ref.genders[:offset] + [u["gender"].value if "gender" in u else g
                                      for u, g in zip(updates, ref.genders[offset:])]
    labelled = [i for i, g in enumerate(genders) if g in ("women", "men", "girls", "boys", "kids", "baby", "unisex")]
    if not missing or len(labelled) < options.k:
        return
    vote = NeighbourVote(ref.vectors[labelled], [[genders[i]] for i in labelled], k=options.k,
                         min_share=options.gender_min_share, min_similarity=0.5)
    for i, prediction in zip(missing, vote.predict(vectors[missing])):
        if prediction.path:
            updates[i]["gender"] = Attribute(value=prediction.path[0], source="predicted")


def _predict_categories(products, vectors, ref: Reference, options: EnrichOptions) -> dict[int, list[str]]:
    """Step 4: a category path for each product that has none (index -> path)."""
    missing = [i for i, p in enumerate(products) if not p.category]
    if not missing:
        return {}
    vote = NeighbourVote(ref.vectors, ref.categories, k=options.k, min_share=options.category_min_share,
                         min_similarity=options.category_min_similarity)
    if len(vote) == 0:
        return {}
    return {i: p.path for i, p in zip(missing, vote.predict(vectors[missing])) if p.path}

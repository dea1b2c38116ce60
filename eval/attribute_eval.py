"""Measure ingest enrichment: attribute precision/recall on hand labels, category accuracy on hidden categories.

Attributes (``shopassist eval attributes``): each labelled product (``data/labels/attributes_100.jsonl``:
id, title, the description snippet the labeller read, and ``labels`` with colour/size/material/
gender/brand or null) is enriched from its title and snippet alone, with no brand or attributes
given. Brand vocabulary and gender neighbours come from ``reference`` catalogs (labelled ids
removed). Per attribute: precision = correct / extracted, recall = correct / labelled. Values are
compared after light normalisation: lower case and spaces; sizes through
:func:`catalog.attributes.normalise_size`; brands without punctuation, and a brand that starts with
the other at a word boundary counts (``jaques`` ~ ``jaques of london``).

Categories (``shopassist eval categories``): a seeded ``holdout`` share of categorised products has
its category hidden; the rest are the reference (their vectors embed ``search_text()`` with the
category, as at ingest; hidden ones without). Reports coverage, top-level and leaf (full path)
accuracy over all hidden products (unassigned counts wrong), precision over assigned ones, and
the same for the "forced" vote that always predicts a full path.

Example::

    from retrieval.embedder import Embedder
    result = evaluate_categories("../shared/data/flipkart-products-sample/products.csv.gz", Embedder().encode)
    print(result["default"]["top_accuracy"])
"""
from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from catalog.attributes import ATTRIBUTE_NAMES, normalise_size
from catalog.categorize import NeighbourVote
from catalog.enrich import EnrichOptions, Reference, enrich
from catalog.loaders import load_products
from catalog.records import Product

Encode = Callable[[list[str]], np.ndarray]


def same_value(name: str, predicted: str, label: str) -> bool:
    """Whether an extracted value matches a hand label (see the module doc for the normalisation)."""
    p, t = " ".join(predicted.lower().split()), " ".join(label.lower().split())
    if name == "size":
        return normalise_size(p) == normalise_size(t)
    if name == "brand":
        p, t = re.sub(r"[^a-z0-9 ]", "", p).strip(), re.sub(r"[^a-z0-9 ]", "", t).strip()
        return p == t or (p + " ").startswith(t + " ") or (t + " ").startswith(p + " ")
    return p == t


def read_labels(path: str | Path) -> list[dict]:
    """The labelled rows; fails with the line number when one is malformed."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            assert row["id"] and row["title"] and isinstance(row["labels"], dict)
        except (json.JSONDecodeError, KeyError, AssertionError) as exc:
            raise ValueError(f"{path}:{number}: expected a JSON object with id, title and labels ({exc})") from exc
        rows.append(row)
    return rows


def build_reference(catalogs: Sequence[str | Path], encode: Encode, exclude: set[str]) -> Reference | None:
    """A :class:`Reference` from catalog files (products in ``exclude`` left out), or None."""
    products: list[Product] = []
    for catalog in catalogs:
        products += [p for p in load_products(catalog).products if p.id not in exclude]
    if not products:
        return None
    return Reference.from_products(products, encode([p.search_text() for p in products]))


def score_attributes(rows: list[dict], enriched: list[Product]) -> dict:
    """Precision/recall per attribute and overall (micro) for enriched products against labels."""
    per: dict[str, dict] = {}
    totals = {"extracted": 0, "labelled": 0, "correct": 0}
    for name in ATTRIBUTE_NAMES:
        extracted = labelled = correct = 0
        errors = []
        for row, product in zip(rows, enriched):
            label = row["labels"].get(name)
            value = product.brand if name == "brand" else product.attribute(name)
            labelled += label is not None
            if value is None:
                continue
            extracted += 1
            if label is not None and same_value(name, value, label):
                correct += 1
            else:
                errors.append({"id": row["id"], "extracted": value, "label": label})
        per[name] = {"precision": correct / extracted if extracted else None,
                     "recall": correct / labelled if labelled else None,
                     "extracted": extracted, "labelled": labelled, "correct": correct, "errors": errors[:20]}
        totals = {"extracted": totals["extracted"] + extracted, "labelled": totals["labelled"] + labelled,
                  "correct": totals["correct"] + correct}
    per["all"] = {"precision": totals["correct"] / max(totals["extracted"], 1),
                  "recall": totals["correct"] / max(totals["labelled"], 1), **totals}
    return per


def evaluate_attributes(labels: str | Path, encode: Encode, catalogs: Sequence[str | Path] = ()) -> dict:
    """Score rules alone and rules + encoder on the hand labels. Returns a JSON-ready dict."""
    started = time.perf_counter()
    rows = read_labels(labels)
    reference = build_reference(catalogs, encode, exclude={r["id"] for r in rows})
    products = [Product(id=r["id"], title=r["title"], description=r.get("description", "")) for r in rows]
    vectors = encode([p.search_text() for p in products])
    result: dict = {"labels": str(labels), "products": len(rows), "reference_catalogs": [str(c) for c in catalogs]}
    modes = {"rules": EnrichOptions(gender_by_neighbours=False, vocabulary_matching=False),
             "rules+encoder": EnrichOptions(gender_by_neighbours=False),
             "rules+encoder+gender-vote": EnrichOptions(gender_by_neighbours=True)}
    for mode, options in modes.items():
        t0 = time.perf_counter()
        # One batch, as at ingest: the labelled products carry no brand or attributes, so they can only
        # help each other through rule-extracted genders (which the ingest would also use).
        enriched = enrich(products, encode, reference, vectors=vectors, options=options)
        result[mode] = score_attributes(rows, enriched)
        result[mode]["seconds"] = round(time.perf_counter() - t0, 2)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _without_category(product: Product) -> Product:
    return product.model_copy(update={"category": [], "category_source": None})


def _score_predictions(truth: list[list[str]], predicted: list[list[str]]) -> dict:
    n = len(truth)
    assigned = [(t, p) for t, p in zip(truth, predicted) if p]
    top_ok = sum(p[0] == t[0] for t, p in assigned)
    leaf_ok = sum(p == t for t, p in assigned)
    prefix_ok = sum(t[:len(p)] == p for t, p in assigned)
    return {"coverage": len(assigned) / n if n else 0.0,
            "top_accuracy": top_ok / n if n else 0.0, "leaf_accuracy": leaf_ok / n if n else 0.0,
            "top_precision": top_ok / len(assigned) if assigned else None,
            "path_precision": prefix_ok / len(assigned) if assigned else None,
            "mean_depth": float(np.mean([len(p) for _, p in assigned])) if assigned else 0.0}


def evaluate_categories(catalog: str | Path, encode: Encode, mapping: dict | None = None, holdout: float = 0.2,
                        seed: int = 13, options: EnrichOptions = EnrichOptions()) -> dict:
    """Hide the category of a ``holdout`` share of products and score the neighbour vote."""
    if not 0 < holdout < 1:
        raise ValueError(f"--holdout must be between 0 and 1 (got {holdout})")
    started = time.perf_counter()
    loaded = load_products(catalog, mapping)
    # A one-element path equal to the title is no category (Flipkart rows without a tree).
    products = [p for p in loaded.products if p.category and p.category != [p.title]]
    if len(products) < 10:
        raise ValueError(f"{catalog}: only {len(products)} products have a category; need at least 10 to measure")
    rng = random.Random(seed)
    order = list(range(len(products)))
    rng.shuffle(order)
    cut = max(1, round(holdout * len(products)))
    hidden = [products[i] for i in order[:cut]]
    known = [products[i] for i in order[cut:]]
    t0 = time.perf_counter()
    ref_vectors = encode([p.search_text() for p in known])
    query_vectors = encode([_without_category(p).search_text() for p in hidden])
    encode_s = time.perf_counter() - t0
    truth = [p.category for p in hidden]
    result: dict = {"catalog": str(catalog), "products": len(products), "hidden": len(hidden),
                    "reference": len(known), "top_levels": len({tuple(p.category[:1]) for p in products}),
                    "leaf_paths": len({tuple(p.category) for p in products}), "k": options.k,
                    "min_share": options.category_min_share}
    t0 = time.perf_counter()
    for mode, share in (("default", options.category_min_share), ("forced", 0.0)):
        vote = NeighbourVote(ref_vectors, [p.category for p in known], k=options.k, min_share=share,
                             min_similarity=options.category_min_similarity)
        result[mode] = _score_predictions(truth, [pred.path for pred in vote.predict(query_vectors)])
    # The same through the ingest entry point, to check enrich() agrees with the direct vote.
    reference = Reference.from_products(known, ref_vectors)
    enriched = enrich([_without_category(p) for p in hidden], encode, reference, vectors=query_vectors, options=options)
    result["enrich"] = _score_predictions(truth, [p.category for p in enriched])
    result["seconds"] = {"encode": round(encode_s, 2), "vote": round(time.perf_counter() - t0, 2),
                         "total": round(time.perf_counter() - started, 2)}
    return result

"""Replies built from records only: product questions, comparisons, search summaries, small talk.

Everything here is deterministic text made of fields of :class:`catalog.records.Product` and the
shopper's own slots — no LLM, so no fact can be invented. A question the record cannot answer gets
``None`` and the agent says so (and offers a person).

Example::

    answer_product_question("what is it made of?", product)
    # 'aw bellies: outer material is Patent Leather (from the product record).'
    compare_products([p1, p2])
    # 'aw bellies is ₹499.00; ladela bellies is ₹950.00. aw bellies is ₹451.00 cheaper.'
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from catalog.currency import convert, format_price
from catalog.records import Product

# question word -> attribute names (substring match on the attribute key) that answer it
_TOPICS: dict[str, tuple[str, ...]] = {
    "material": ("material", "fabric", "lining"), "made": ("material", "fabric"), "fabric": ("fabric", "material"),
    "colour": ("colour", "color"), "color": ("colour", "color"), "size": ("size",), "sizes": ("size",),
    "fit": ("fit", "size"), "weight": ("weight",), "heavy": ("weight",), "weigh": ("weight",),
    "dimensions": ("height", "width", "depth", "length", "dimension"), "big": ("height", "width", "dimension", "size"),
    "tall": ("height",), "wide": ("width",), "long": ("length",), "height": ("height",), "width": ("width",),
    "warranty": ("warranty", "service type"), "guarantee": ("warranty",), "waterproof": ("waterproof",),
    "water": ("waterproof", "water"), "pack": ("pack", "contents", "sales package"), "box": ("sales package",),
    "included": ("sales package", "contents", "included"), "comes": ("sales package", "contents"),
    "age": ("age",), "kids": ("age", "ideal for"), "men": ("ideal for", "gender"), "women": ("ideal for", "gender"),
    "occasion": ("occasion",), "model": ("model",), "battery": ("batter",), "batteries": ("batter",),
    "power": ("power",), "wireless": ("wireless", "wired"), "pattern": ("pattern",), "sleeve": ("sleeve",),
    "heel": ("heel",), "closure": ("closure",), "pages": ("pages",), "capacity": ("capacity", "quantity"),
}
_STOP = {"is", "it", "the", "a", "an", "this", "that", "one", "of", "what", "does", "do", "how", "which", "are",
         "there", "first", "second", "third", "last", "can", "you", "tell", "me", "about", "its", "in", "for", "and"}


def _record_name(product: Product, words: int = 8) -> str:
    parts = product.title.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def answer_product_question(question: str, product: Product) -> str | None:
    """Answer from the record (price, brand, rating, category, attributes, description), or None."""
    q = (question or "").lower()
    words = [w for w in re.findall(r"[a-z]+", q) if w not in _STOP]
    name = _record_name(product)
    if re.search(r"\b(price|cost|how much|expensive|cheap)\b", q):
        if product.price is None:
            return None
        return f"{name} costs {format_price(product.price, product.currency)} (from the product record)."
    if re.search(r"\b(brand|who makes|made by|manufacturer)\b", q) and product.brand:
        return f"{name} is made by {product.brand} (from the product record)."
    if re.search(r"\b(rating|rated|reviews?|stars?)\b", q):
        if product.rating is None:
            return None
        return f"{name} is rated {product.rating:g} out of 5 (from the product record)."
    found: list[str] = []
    for word in words:
        for key_part in _TOPICS.get(word, (word,)):
            for key, attr in product.attributes.items():
                if key_part in key and f"{key}: {attr.value}" not in found:
                    found.append(f"{key}: {attr.value}")
    if found:
        return f"{name} — " + "; ".join(found[:4]) + " (from the product record)."
    if re.search(r"\b(category|kind|type)\b", q) and product.category:
        return f"{name} is in {product.category_path} (from the product record)."
    content = [w for w in words if len(w) > 3]
    for sentence in re.split(r"(?<=[.!?;,])\s+", product.description or ""):
        low = sentence.lower()
        if content and sum(w in low for w in content) >= max(1, len(content) // 2) and len(sentence) > 15:
            return f'The product description of {name} says: "{sentence.strip()[:240]}"'
    return None


def compare_products(products: Sequence[Product], currency: str | None = None) -> str:
    """A comparison of two or more products by price, brand and rating — record fields only."""
    if len(products) < 2:
        return "I need two products to compare: say, for example, \"compare the first two\"."
    lines = []
    for p in products:
        bits = [format_price(p.price, p.currency) if p.price is not None else "price not listed"]
        if p.brand:
            bits.append(f"by {p.brand}")
        if p.rating is not None:
            bits.append(f"rated {p.rating:g}/5")
        lines.append(f"{_record_name(p, 6)}: {', '.join(bits)}")
    text = "; ".join(lines) + "."
    priced = [p for p in products if p.price is not None]
    if len(priced) >= 2:
        target = currency or priced[0].currency
        ordered = sorted(priced, key=lambda p: convert(p.price, p.currency, target))
        cheap, dear = ordered[0], ordered[-1]
        gap = convert(dear.price, dear.currency, target) - convert(cheap.price, cheap.currency, target)
        if gap > 0.005 and all((p.currency or target) == target for p in priced):
            text += f" {_record_name(cheap, 6)} is the cheapest, {format_price(gap, target)} less than " \
                    f"{_record_name(dear, 6)}."
    return text


def describe_request(slots: dict[str, Any]) -> str:
    """The shopper's constraints in words ("red running shoes under $80.00, not nike")."""
    parts = [slots.get("colour") or "", " ".join(slots.get("brands") or []), slots.get("category") or "",
             " ".join(slots.get("keywords") or [])]
    text = " ".join(p for p in parts if p).strip() or "products"
    currency = slots.get("currency")
    if slots.get("price_min") is not None and slots.get("price_max") is not None:
        text += f" between {format_price(slots['price_min'], currency)} and {format_price(slots['price_max'], currency)}"
    elif slots.get("price_max") is not None:
        text += f" under {format_price(slots['price_max'], currency)}"
    elif slots.get("price_min") is not None:
        text += f" from {format_price(slots['price_min'], currency)}"
    if slots.get("size"):
        text += f", size {slots['size']}"
    excluded = list(slots.get("brands_exclude") or []) + list(slots.get("exclude_words") or [])
    if excluded:
        text += ", not " + " or ".join(excluded)
    return text


def search_summary(count: int, slots: dict[str, Any], page: int = 0) -> str:
    """The reply line above a product list, or the no-result message."""
    wanted = describe_request(slots)
    if count == 0:
        return (f"I couldn't find {wanted} in our catalog. Try a wider price range, another colour or brand, "
                "or fewer words — or ask me to connect you with a person.")
    more = "more " if page else ""
    return f"Here {'is' if count == 1 else 'are'} {count} {more}option{'s' if count != 1 else ''} for {wanted}."


GREETING = ("Hi! I can find products for you (\"red running shoes under $80\"), compare them, answer questions "
            "about them, and answer questions about returns, refunds, shipping, payment, warranty and accounts. "
            "If you need a person, just say so.")
NOT_UNDERSTOOD = ("I'm not sure how to help with that. I can search products, compare them, or answer questions "
                  "about returns, refunds, shipping, payment, warranty and accounts — or connect you with a person.")

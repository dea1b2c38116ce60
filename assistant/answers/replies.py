"""Replies built from records only: product questions, comparisons, list and no-match lines, small talk.

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


def plural(label: str) -> str:
    """'toy' -> 'toys', 'toy for 1 year old' -> 'toys for 1 year old' (the head noun before a preposition)."""
    head, sep, rest = (re.split(r"(\s(?:for|with|from|in|of|to)\s)", label, maxsplit=1) + ["", ""])[:3]
    if sep:
        return plural(head) + sep + rest
    words = label.split()
    if not words:
        return label
    last = words[-1]
    if last.endswith("ss") and last not in ("chess", "dress-up"):  # dress -> dresses
        return " ".join(words[:-1] + [last + "es"])
    if last.endswith("s") or last in ("clothing", "wear", "jewellery", "footwear", "lego", "star wars"):
        return label
    if last.endswith(("ch", "sh", "x")):
        return " ".join(words[:-1] + [last + "es"])
    if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
        return " ".join(words[:-1] + [last[:-1] + "ies"])
    return " ".join(words[:-1] + [last + "s"])


def constraints(slots: dict[str, Any]) -> str:
    """The shopper's hard constraints in words (" in red under £20.00, not nike")."""
    text = ""
    if slots.get("colour"):
        text += f" in {slots['colour']}"
    if slots.get("brands"):
        text += " by " + " or ".join(b.title() for b in slots["brands"])
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


def list_reply(count: int, page_size: int, label: str | None, slots: dict[str, Any], page: int = 0) -> str:
    """The line above a product list: what was found, how many, under which constraints."""
    what = plural(label) if label else "matches"
    wanted = f"{what}{constraints(slots)}"
    if count == 0:
        return (f"I couldn't find any {wanted}. Try a wider price range, another colour or brand, or describe it "
                "differently — or ask me to connect you with a person.")
    more = "more " if page else ""
    if count == 1:
        return f"Only one {more}match for {wanted}:"
    if count < page_size:
        return f"Only {count} {more}{wanted} match what you asked for:"
    return f"Here are {count} {more}{wanted}:"


def no_match_reply(kind: str, alternatives: Sequence[Product], match: str = "none") -> str:
    """"We don't carry sarees." plus what the closest alternatives are."""
    if match == "head":
        head = kind.split()[-1]
        text = f"We don't carry {plural(kind)} — none of our {plural(head)} is quite that."
    else:
        text = f"We don't carry {plural(kind)}."
    if alternatives:
        leaf = (alternatives[0].category_path.split(">")[-1].strip() if alternatives[0].category_path else "")
        kinds = f" ({leaf.lower()})" if leaf and len(leaf) < 40 else ""
        text += f" The closest things we have{kinds}, as alternatives:"
    else:
        text += " I couldn't find anything close either — tell me more, or ask for a person."
    return text


def pick_reply(product: Product, position: int, question: str, currency: str | None = None) -> str:
    """The answer to "which one would you recommend?" about the shown list (record facts only)."""
    facts = []
    if product.price is not None:
        facts.append(format_price(product.price, product.currency))
    if product.brand:
        facts.append(f"by {product.brand}")
    if product.rating is not None:
        facts.append(f"rated {product.rating:g}/5")
    why = "for a gift" if re.search(r"\b(gift|present)\b", question.lower()) else "of these"
    return (f"Of the ones I showed you, I'd pick number {position}, {_record_name(product, 10)}"
            f"{' (' + ', '.join(facts) + ')' if facts else ''}: it ranks best {why} for you on relevance and "
            "what you have liked before.")


GREETING = ("Hi! I can find products for you (\"red running shoes under $80\"), compare them, answer questions "
            "about them, and answer questions about returns, refunds, shipping, payment, warranty and accounts. "
            "If you need a person, just say so.")
NOT_UNDERSTOOD = ("I'm not sure how to help with that. I can search products, compare them, or answer questions "
                  "about returns, refunds, shipping, payment, warranty and accounts — or connect you with a person.")

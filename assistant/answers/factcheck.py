"""The fact checker: every claim in an explanation must be backed by the item, the request or the history.

A small LLM writes fluent sentences and invents facts ("rated 4.8 by 2,000 buyers", "in navy",
"same brand as your last order"). :class:`FactChecker` reads a candidate sentence and checks, claim
by claim:

* **numbers** (prices, sizes, quantities, ratings, percentages) — each must occur in the product
  record (title, description, attributes, price, rating) or in the request (price cap, size);
  money amounts must equal the item price (also converted into the shopper's currency) or a price the
  shopper named;
* **brands** — a known brand named must be the item's brand (or in its title), or a brand from the
  shopper's history in a history reference;
* **names** — a capitalised word inside the sentence must occur in the record, request or history
  (catches invented brands and model names the brand list does not know);
* **colours** — each colour word must occur in the product record;
* **sizes** — "size X" / XS..XXL must occur in the record;
* **ages** — "for your 2-year-old", "ages 3+", "toddlers": the listing must state ages
  (:func:`catalog.ages.product_ages`) that include the shopper's child, or say the word itself;
* **history references** ("you bought", "your last order", "like the ones you viewed") — the shopper
  must have that kind of history, and time phrases ("last spring") must come from the request;
* **unverifiable claims** ("best-selling", "free shipping", "on sale", "warranty", "cheapest") —
  must occur in the record;
* **form** — one sentence, 4–45 words, about this item (names its brand, price or a title word).

Example::

    checker = FactChecker(known_brands={"nike", "adidas"})
    facts = ItemFacts.build(product, request_text="red running shoes under $80", slots={"price_max": 80})
    checker.check("Red Nike runner at $69.99, under your $80 cap.", facts).ok      # True
    checker.check("Blue Adidas runner, a best-seller.", facts).problems            # ['colour blue ...', ...]
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.guardrails import money_amounts
from assistant.understanding.slot_patterns import AGE_PATTERNS
from assistant.understanding.vocabulary import COLOURS
from catalog.ages import AgeRange, age_range, product_ages
from catalog.currency import convert
from catalog.records import Product

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])|\d+(?:\.\d+)?(?=\s*(?:%|x\b|ml\b|cm\b|mm\b|kg\b|g\b|gb\b|tb\b|"
                     r"inch|in\b|\"|'|m\b|mah\b|w\b|v\b|pcs\b|pc\b|pack|piece|year|yr|month|day|hour|star))")
_SIZE = re.compile(r"\bsize\s+([a-z0-9]+(?:\.\d+)?(?:\s*(?:uk|us|eu)\b)?)|\b(xxs|xs|xxl|xxxl|2xl|3xl|xl)\b", re.IGNORECASE)
_HISTORY = re.compile(
    r"\b(you(?:'ve| have)?\s+(?:bought|purchased|ordered|viewed|looked at|liked|rated|clicked|added|browsed|owned|own)|"
    r"your\s+(?:previous|past|last|earlier|recent|prior)\s+\w+|(?:you|your)\s+(?:usual|favou?rite)|"
    r"(?:before|previously|last time|again)\b|like the ones? you)", re.IGNORECASE)
_BUDGET = re.compile(r"\b(under|within|below|less than|fits?|inside|in)\b.{0,25}\b(budget|cap|limit|price range)\b|"
                     r"\b(under|below|less than)\s*(your\s*)?[$£€₹]?\s*\d", re.IGNORECASE)
_PURCHASE_WORDS = re.compile(r"\b(bought|purchased|ordered|own|owned)\b", re.IGNORECASE)
_TIME_PHRASE = re.compile(r"\b(last|this|next)\s+(spring|summer|autumn|fall|winter|year|month|week|season|christmas)\b",
                          re.IGNORECASE)
_CLAIMS = ("best-selling", "best selling", "bestseller", "best seller", "best-seller", "most popular", "top-rated", "top rated",
           "highest rated", "highest-rated", "#1", "number one", "cheapest", "lowest price", "free shipping",
           "free delivery", "on sale", "discount", "% off", "warranty", "guarantee", "in stock", "limited time",
           "award", "eco-friendly", "waterproof", "organic", "handmade", "refund", "return", "store", "shop", "delivery",
           "shipping", "available at", "exclusive", "only at", "new arrival", "latest", "wide range",
           # puffery the record rarely supports: unverifiable praise is not an explanation
           "luxury", "luxurious", "must-have", "must have", "top-quality", "top quality", "high-quality",
           "high quality", "high-end", "premium", "exceptional", "craftsmanship", "renowned", "world-class",
           "finest", "unbeatable", "best")
_STARTERS = {  # ordinary words a sentence may start with; any other first word must be in the record
    "these", "those", "they", "its", "perfect", "great", "ideal", "stylish", "affordable", "comfortable", "made",
    "featuring", "crafted", "designed", "bright", "classic", "elegant", "cozy", "cosy", "durable", "lightweight",
    "priced", "under", "within", "same", "like", "matches", "matching", "if", "since", "because", "here", "offering",
    "available", "good", "nice", "excellent", "fun", "practical", "versatile", "sturdy", "soft", "simple", "compact",
    "budget", "budget-friendly", "chosen", "picked", "recommended", "fits", "suits", "fitting", "looking", "a",
    "an", "the", "this", "that", "with", "for", "at", "you", "your", "it", "as", "by", "from", "in", "on"}
_STOP = {"the", "a", "an", "and", "or", "for", "with", "of", "in", "on", "to", "your", "you", "this", "that", "it",
         "is", "at", "as", "by", "from", "its", "fits", "fit", "great", "good", "nice", "perfect", "choice", "pick"}


# a sentence the model stopped mid-way ("... which fits your.", "... Duncan is rated.")
_DANGLING = re.compile(r"\b(?:a|an|the|your|my|his|her|their|its|our|is|are|was|be|rated|with|for|and|or|but|of|to|"
                       r"by|from|which|that|in|on|at|as|very|so|for (?:those|these|anyone|people|someone))\s*[.!,;:]?\s*$",
                       re.I)
_THIRD_PERSON = re.compile(r"\bthe (?:shopper|user|customer|buyer)s?\b|\b(?:shopper|user|customer)'s\b", re.I)
_AGE_WORDS = re.compile(r"\b(?:toddlers?|infants?|babies|baby|preschoolers?|newborns?)\b", re.I)
_RATED_BY = re.compile(r"\brated\s+[\d.]+\s*(?:/\s*5|out of 5|stars?)?\s+by\b", re.I)


def _norm_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def borrowed_words(sentence: str, facts: ItemFacts, others: Iterable[ItemFacts]) -> list[str]:
    """Words of a sentence about one pick that only another pick's record has: in one batched LLM call
    a sentence picks up the previous item's facts ("a necklace ... a secure storage solution")."""
    own = facts.record_text + " " + facts.request_text
    elsewhere = " ".join(o.record_text for o in others if o.product.id != facts.product.id)
    words = {w for w in re.findall(r"[a-z]{4,}", sentence.lower()) if w not in _STOP and w not in _STARTERS}
    return sorted(w for w in words if not mentions(own, w) and not mentions(own, w.rstrip("s"))
                  and mentions(elsewhere, w))


def _beside_title(text: str, product: Product) -> str:
    """``text`` without the words it quotes from the product's brand and title (with their punctuation)."""
    title = {w.strip(",;:…") for w in f"{product.brand or ''} {product.title}".lower().split()}
    words = text.split()
    kept = [w for i, w in enumerate(words) if w.lower().strip(",;:…") not in title
            and (i < len(words) - 1 or w.lower().rstrip(".!?,;:…") not in title)]
    ends = text.rstrip()[-1:] if text.rstrip()[-1:] in ".!" else ""
    return " ".join(kept) + ends


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def mentions(text: str, phrase: str) -> bool:
    """True when ``phrase`` occurs in ``text`` as whole words ("red" is not in "embroidered")."""
    if not phrase:
        return False
    left = r"(?<![a-z0-9])" if phrase[0].isalnum() else ""
    right = r"(?![a-z0-9])" if phrase[-1].isalnum() else ""
    return re.search(left + re.escape(phrase.lower()) + right, text) is not None


@dataclass(frozen=True)
class HistoryFacts:
    """What the shopper's history can support: brands and title words by kind of event."""

    bought_brands: frozenset[str] = frozenset()
    seen_brands: frozenset[str] = frozenset()  # viewed, clicked, liked, carted, rated (includes bought)
    seen_words: frozenset[str] = frozenset()
    has_purchases: bool = False
    summary: str = ""

    @property
    def empty(self) -> bool:
        return not self.seen_brands and not self.seen_words and not self.has_purchases


@dataclass(frozen=True)
class ItemFacts:
    """The verified facts about one item for one request: what a sentence may claim."""

    product: Product
    record_text: str
    numbers: frozenset[float]
    prices: frozenset[float]
    request_text: str
    slots: dict[str, Any] = field(default_factory=dict)
    history: HistoryFacts = HistoryFacts()
    ages: AgeRange | None = None  # what the listing states (catalog.ages.product_ages)

    @classmethod
    def build(cls, product: Product, request_text: str = "", slots: dict[str, Any] | None = None,
              history: HistoryFacts | None = None) -> "ItemFacts":
        slots = dict(slots or {})
        attrs = " ".join(f"{k} {v.value}" for k, v in product.attributes.items())
        record = " ".join([product.title, product.brand or "", product.category_path, attrs,
                           product.description[:1500]]).lower()
        numbers = {n for n in (_norm_number(t) for t in _NUMBER.findall(record)) if n is not None}
        order_id = _norm_number(str(slots.get("order_id") or "x"))
        numbers |= {n for n in (_norm_number(t) for t in _NUMBER.findall(request_text.lower()))
                    if n is not None and n != order_id and n < 1e6}  # an order id is no product fact
        prices: set[float] = set()
        if product.price is not None:
            prices.add(round(product.price, 2))
            target = slots.get("currency")
            if target and product.currency and target != product.currency:
                prices.add(round(convert(product.price, product.currency, target), 2))
        for key in ("price_max", "price_min"):
            if slots.get(key) is not None:
                prices.add(round(float(slots[key]), 2))
        numbers |= prices
        stated = product_ages(product)
        ages = [slots.get("age")] + ([stated.low, stated.high] if stated is not None else [])
        numbers |= {v for a in ages if a is not None for v in (round(float(a), 2), round(float(a) * 12))}
        if product.rating is not None:
            numbers |= {round(product.rating, 1), 5.0}
        if slots.get("size"):
            numbers |= {n for n in (_norm_number(t) for t in _NUMBER.findall(str(slots["size"]))) if n is not None}
        return cls(product, record, frozenset(numbers), frozenset(prices), request_text.lower(), slots,
                   history or HistoryFacts(), stated)


@dataclass
class CheckResult:
    ok: bool
    problems: list[str] = field(default_factory=list)


class FactChecker:
    """Checks one sentence against :class:`ItemFacts`.

    Args:
        known_brands: lower-case brands the checker should recognise in a sentence (the catalog's
            brands; the agent passes the vocabulary's brands plus the brands of the shown items).
    """

    def __init__(self, known_brands: Iterable[str] = ()):
        self.known_brands = {b.lower() for b in known_brands if b and len(b) > 1}

    def check(self, sentence: str, facts: ItemFacts) -> CheckResult:
        """Return ``ok`` and, when not ok, one readable problem per failed claim."""
        problems: list[str] = []
        text = (sentence or "").strip()
        low = text.lower()
        problems += self._form(text, facts)
        problems += self._numbers(low, facts)
        problems += self._brands(text, facts)
        problems += self._colours(low, facts)
        problems += self._sizes(low, facts)
        problems += self._ages(low, facts)
        problems += self._history(low, facts)
        problems += self._proper_nouns(text, facts)
        problems += self._request_words(low, facts)
        if re.search(r"\[(?:email|phone|card)\]", low):
            problems.append("repeats redacted personal data")
        problems += [f"unverifiable claim {c!r}" for c in _CLAIMS
                     if mentions(low, c) and not mentions(facts.record_text, c)]
        return CheckResult(not problems, problems)

    # -- single checks ----------------------------------------------------------------------
    @staticmethod
    def _request_words(low: str, facts: ItemFacts) -> list[str]:
        """A requested product word ("bellies") said of an item whose record lacks it is a false claim."""
        keywords = facts.slots.get("keywords") or []
        return [f"calls the item {word!r}, which its record does not say" for word in keywords
                if isinstance(word, str) and len(word) > 3 and mentions(low, word)
                and not mentions(facts.record_text, word) and not mentions(facts.record_text, word.rstrip("s"))]

    @staticmethod
    def _form(text: str, facts: ItemFacts) -> list[str]:
        words = text.split()
        out = []
        if not 4 <= len(words) <= 45:
            out.append(f"length {len(words)} words (want 4-45)")
        own = _beside_title(text, facts.product)  # "j.d.h. boots", "Scene It? game": the title's punctuation
        if "\n" in text or len(re.findall(r"[.!?](?:\s|$)", own)) > 1:
            out.append("more than one sentence")
        if "?" in own:
            out.append("a question, not an explanation")
        if _DANGLING.search(text):
            out.append("the sentence is cut off")
        if text.count(";") >= 2:  # "dress; brand ajaero; ₹1,199.00; colour red": the prompt's product line
            out.append("repeats the product line instead of a sentence")
        if _THIRD_PERSON.search(text):
            out.append("speaks of the shopper in the third person")
        if _RATED_BY.search(text):
            out.append("says who rated it (the record has only the rating)")
        p = facts.product
        anchors = (_words(p.title) | _words(p.brand or "") | _words(p.category_path)) - _STOP
        if p.price is not None:
            anchors.add(f"{p.price:g}")
        if not (_words(text) - _STOP) & anchors and not money_amounts(text):
            out.append("does not mention this item (no brand, title word or price)")
        return out

    @staticmethod
    def _numbers(low: str, facts: ItemFacts) -> list[str]:
        out = []
        for amount in money_amounts(low):
            if not any(abs(amount - p) <= max(0.01, p * 1e-3) for p in facts.prices):
                out.append(f"price {amount:g} is not the item price or a price the shopper named")
        if _BUDGET.search(low):
            cap, price = facts.slots.get("price_max"), facts.product.price
            if cap is None or price is None:
                out.append("claims it fits a budget, but the shopper gave no price cap or the item has no price")
            elif convert(price, facts.product.currency, facts.slots.get("currency") or facts.product.currency) \
                    > float(cap) * 1.0001:
                out.append(f"claims it fits the budget, but the price is above the cap {cap:g}")
        stripped = re.sub(r"[$£€₹]\s*\d[\d,]*(?:\.\d+)?", " ", low)
        for token in _NUMBER.findall(stripped):
            value = _norm_number(token)
            if value is None or any(abs(value - n) < 1e-6 for n in facts.numbers):
                continue
            out.append(f"number {token} is not in the item record or the request")
        return out

    def _brands(self, text: str, facts: ItemFacts) -> list[str]:
        """A one-word brand counts only when written capitalised ("Unique", "TITAN"): catalogs have brands
        that are ordinary words ("unique", "classic"); multi-word brands match in any case."""
        low = text.lower()
        own = {(facts.product.brand or "").lower()} | {b for b in self.known_brands if b in facts.product.title.lower()}
        out = []
        for brand in self.known_brands:
            if brand in own or not re.search(rf"(?<![a-z0-9]){re.escape(brand)}(?![a-z0-9])", low):
                continue
            if " " not in brand and brand.isalpha() and not re.search(
                    rf"(?<![A-Za-z0-9])(?:{re.escape(brand[0].upper() + brand[1:])}|{re.escape(brand.upper())})"
                    rf"(?![A-Za-z0-9])", text):
                continue
            if brand in facts.history.seen_brands and _HISTORY.search(low):
                continue
            if any(brand in o for o in own if o):  # "lego" inside "lego city"
                continue
            out.append(f"brand {brand!r} is not this item's brand")
        return out

    @staticmethod
    def _colours(low: str, facts: ItemFacts) -> list[str]:
        out = []
        for surface, canonical in COLOURS.items():
            found = re.search(rf"(?<![a-z])[0-9]*{re.escape(surface)}(?![a-z])[0-9]*", low)
            if len(surface) < 3 or not found:
                continue
            if any(mentions(facts.record_text, w) for w in (surface, canonical, found.group())):  # "yellow02"
                continue
            out.append(f"colour {surface!r} is not in the item record")
        return out

    @staticmethod
    def _sizes(low: str, facts: ItemFacts) -> list[str]:
        out = []
        for match in _SIZE.finditer(low):
            size = (match.group(1) or match.group(2) or "").strip().rstrip(".")
            if size and not re.search(rf"(?<![a-z0-9]){re.escape(size)}(?![a-z0-9])", facts.record_text):
                out.append(f"size {size!r} is not in the item record")
        return out

    @staticmethod
    def _ages(low: str, facts: ItemFacts) -> list[str]:
        """An age fit ("great for your 2-year-old") needs the listing's stated ages to include the child."""
        low = _beside_title(low, facts.product)  # "Age 40 Birthday Banner" names no child's age
        words = [w for w in _AGE_WORDS.findall(low) if not mentions(facts.record_text, w.lower())]
        if not words and not any(p.search(low) for p in AGE_PATTERNS) and age_range(low) is None:
            return []
        stated, child = facts.ages, facts.slots.get("age")
        if stated is None:
            return ["claims an age fit, but the listing states no ages"]
        if child is not None and not stated.fits(float(child)):
            return [f"claims an age fit, but the listing says {stated.describe()}"]
        return []

    @staticmethod
    def _proper_nouns(text: str, facts: ItemFacts) -> list[str]:
        """Capitalised words (not sentence-initial) must come from the record, request or history:
        a small model invents brand and model names the brand list cannot know."""
        allowed = facts.record_text + " " + facts.request_text + " " + " ".join(facts.history.seen_brands)
        allowed_words = _words(allowed) | set(facts.history.seen_words)
        out = []
        for match in re.finditer(r"(?:^|(?<=[\s(\"']))([A-Z][A-Za-z0-9&'-]+)", text):
            word = re.sub(r"'s$", "", match.group(1).lower()).strip("'")  # "Calibro's" -> "calibro"
            if word in _STOP or word in ("i", "it's", "you're"):
                continue
            if match.start() == 0 and word in _STARTERS:
                continue
            if not set(re.findall(r"[a-z0-9]+", word)) <= allowed_words:
                out.append(f"name {match.group(1)!r} is not in the item record, request or history")
        return out

    @staticmethod
    def _history(low: str, facts: ItemFacts) -> list[str]:
        out = []
        for time in _TIME_PHRASE.finditer(low):
            if time.group(0) not in facts.request_text:
                out.append(f"time reference {time.group(0)!r} is not from the request")
        if not _HISTORY.search(low):
            return out
        if facts.history.empty:
            out.append("refers to the shopper's history, but there is none")
        elif _PURCHASE_WORDS.search(low) and not facts.history.has_purchases:
            out.append("claims a purchase, but the history has none")
        return out

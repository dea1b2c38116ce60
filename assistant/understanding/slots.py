"""Deterministic slot extraction: what rules do well, done by rules.

:func:`extract` reads one shopper message and returns an :class:`Extraction`: the :class:`Slots`
(prices and currency, colour, size, brands and categories known to a :class:`Vocabulary`, negations,
sort order, quantity, order id, left-over keywords) plus *cues* the dialogue state needs ("cheaper",
"more", "other_brand", "reset", "compare") and *references* to the last list ("the second one" -> [2]).

Prices: "under $80", "below 500 rs", "between 20 and 50 euros", "£15-£25", "₹1,299", "2k",
"at least 30 quid", "around $40" (±20 %). A bare amount with a currency ("a $50 watch") is a cap.
Negations: "not Nike" / "no Puma" -> ``brands_exclude``; "no leather", "without laces",
"not black" -> ``exclude_words``.

Example::

    >>> from assistant.understanding.vocabulary import Vocabulary
    >>> x = extract("red running shoes under $80, not Nike", Vocabulary.default().with_terms(brands=["nike"]))
    >>> (x.slots.colour, x.slots.category, x.slots.price_max, x.slots.currency, x.slots.brands_exclude)
    ('red', 'running shoes', 80.0, 'USD', ['nike'])
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.understanding.slot_patterns import (AGE_NUMBER_WORDS, AGE_PATTERNS, CUES, NAMED_ORDER_ID, NEGATION,
                                                   NUMBER_WORDS, ORDER_ID, ORDINALS, PRICE_PATTERNS, QUANTITY,
                                                   SIZE_PATTERNS, SORTS, STOPWORDS, currency_of, parse_amount)
from assistant.understanding.vocabulary import SIZE_WORDS, Vocabulary

Sort = Literal["price_asc", "price_desc", "rating", "popularity", "newest"]
SLOT_NAMES: tuple[str, ...] = ("category", "brands", "brands_exclude", "colour", "size", "price_min", "price_max",
                               "currency", "keywords", "exclude_words", "sort", "quantity", "order_id", "age")


class Slots(BaseModel):
    """What the shopper asked for. Empty lists / None mean "not said". Strings are lower case."""

    category: str | None = None
    brands: list[str] = Field(default_factory=list)
    brands_exclude: list[str] = Field(default_factory=list)
    colour: str | None = None
    size: str | None = None
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    currency: str | None = None  # ISO code: USD, GBP, EUR, INR
    keywords: list[str] = Field(default_factory=list)
    exclude_words: list[str] = Field(default_factory=list)
    sort: Sort | None = None
    quantity: int | None = Field(None, ge=1)
    order_id: str | None = None
    age: float | None = Field(None, ge=0, le=18)  # years, of the child it is for ("for my 4 year old")

    def filled(self) -> dict[str, Any]:
        """Only the slots that were said (the JSON shape of ``Reply.slots``)."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, [], "")}

    def has_product_signal(self) -> bool:
        """True when the message names something to shop for (category, brand, colour, price, size)."""
        return bool(self.category or self.brands or self.colour or self.size or self.price_max is not None
                    or self.price_min is not None)


class Extraction(BaseModel):
    """Slots plus what the dialogue state needs: cues and 1-based references (-1 = the last)."""

    slots: Slots = Field(default_factory=Slots)
    cues: list[str] = Field(default_factory=list)
    refs: list[int] = Field(default_factory=list)


class _Text:
    """The message with spans already used, so one word feeds one slot only."""

    def __init__(self, message: str) -> None:
        self.original = message
        self.lower = message.lower().replace("’", "'")
        self.used = [False] * len(self.lower)

    def free(self, start: int, end: int) -> bool:
        return not any(self.used[start:end])

    def take(self, start: int, end: int) -> None:
        self.used[start:end] = [True] * (end - start)

    def finditer(self, pattern: re.Pattern[str]):
        return [m for m in pattern.finditer(self.lower) if self.free(m.start(), m.end())]


def _prices(text: _Text, slots: Slots) -> None:
    for kind, pattern in PRICE_PATTERNS:
        for m in text.finditer(pattern):
            first = parse_amount(m.group("a"))
            second = parse_amount(m.group("b")) if "b" in pattern.groupindex and m.group("b") else None
            currency = currency_of(m.group(0))
            if first is None:
                continue
            if kind == "range" and second is not None:
                slots.price_min, slots.price_max = min(first, second), max(first, second)
            elif kind == "max":
                slots.price_max = first
            elif kind == "min":
                slots.price_min = first
            elif kind == "around":
                slots.price_min, slots.price_max = round(first * 0.8, 2), round(first * 1.2, 2)
            slots.currency = currency or slots.currency
            text.take(m.start(), m.end())


_PERSON = frozenset("girl girls boy boys son sons daughter daughters kid kids child children nephew niece grandson "
                    "granddaughter grandchild toddler twins brother sister cousin friend baby".split())


def _age(text: _Text, slots: Slots) -> None:
    """The age of the child a product is for; "a 3 year old laptop" describes the laptop, not a person."""
    for pattern in AGE_PATTERNS:
        for m in text.finditer(pattern):
            after = re.match(r"\s+([a-z]+)", text.lower[m.end():])
            if after and after.group(1) not in _PERSON and after.group(1) not in STOPWORDS:
                continue
            raw = m.group("n")
            years = float(raw) if raw.isdigit() else float(AGE_NUMBER_WORDS[raw])
            if (m.group("unit") or "").startswith("m"):
                years = round(years / 12, 2)
            if years <= 18:
                slots.age = years
                text.take(m.start(), m.end())
                return


def _order_id(text: _Text, slots: Slots) -> None:
    for m in text.finditer(NAMED_ORDER_ID):
        group = "named" if m.group("named") else "id"
        slots.order_id = m.group(group)
        text.take(m.start(group), m.end(group))
        return
    for m in text.finditer(ORDER_ID):
        value = m.group("id").strip(".-")
        if any(ch.isdigit() for ch in value):
            slots.order_id = value.lower()
            text.take(m.start("id"), m.end("id"))
            return


def _size(text: _Text, slots: Slots) -> None:
    for pattern in SIZE_PATTERNS:
        for m in text.finditer(pattern):
            raw = re.sub(r"\s+", " ", m.group("size").strip())
            slots.size = SIZE_WORDS.get(raw, raw)
            text.take(m.start(), m.end())
            return


def _phrases(text: _Text, vocab: Vocabulary) -> list[tuple[int, int, str]]:
    """Free word n-grams, longest first: (start, end, phrase)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[a-z0-9][a-z0-9'&\-]*", text.lower)]
    out = []
    for n in range(vocab.max_words(), 0, -1):
        for i in range(len(words) - n + 1):
            start, end = words[i][0], words[i + n - 1][1]
            if text.free(start, end):
                out.append((start, end, " ".join(text.lower[s:e] for s, e in words[i:i + n])))
    return out


def _brand_allowed(text: _Text, start: int, end: int, brand: str, vocab: Vocabulary) -> bool:
    if brand not in vocab.ambiguous_brands:
        return True
    around = text.lower[max(0, start - 12):end + 8]
    return text.original[start:start + 1].isupper() or "brand" in around or " by " in around


def _negations(text: _Text, vocab: Vocabulary, slots: Slots, cues: list[str]) -> None:
    for m in text.finditer(NEGATION):
        end = _negated_brand_list(text, vocab, slots, m)
        if end:
            text.take(m.start(), end)
            continue
        target = m.group("t").strip()
        if re.match(r"(that|this|those|these|the same)\s+(brand|make|maker|company)", target):
            cues.append("other_brand")
            text.take(m.start(), m.end())
            continue
        words = target.split()
        if not words or words[0] in STOPWORDS:
            continue
        for n in range(min(3, len(words)), 0, -1):
            phrase = " ".join(words[:n])
            brand = vocab.canonical_brand(phrase, fuzzy=n == 1)
            if brand:
                slots.brands_exclude.append(brand)
                break
            colour = vocab.canonical_colour(phrase)
            if colour or (n == 1 and phrase not in STOPWORDS):
                slots.exclude_words.append(colour or phrase.removesuffix("'s"))
                break
        else:
            continue
        text.take(m.start(), m.start("t") + len(" ".join(words[:n])))


_LIST_ITEM = re.compile(r"\s*(?:,|\bor\b|\band\b|\bnor\b)?\s*([a-z0-9][a-z0-9'&\-]*)(?:\s([a-z0-9][a-z0-9'&\-]*))?")


def _negated_brand_list(text: _Text, vocab: Vocabulary, slots: Slots, m: re.Match[str]) -> int:
    """"not puma or adidas", "no nike, puma and reebok": exclude every listed brand; returns the end offset."""
    start = m.start("t")
    position, found = start, []
    while True:
        part = _LIST_ITEM.match(text.lower, position)
        if not part:
            break
        two = f"{part.group(1)} {part.group(2)}" if part.group(2) else None
        if two and vocab.canonical_brand(two, fuzzy=False):
            found.append(vocab.canonical_brand(two, fuzzy=False))
            position = part.end(2)
        elif vocab.canonical_brand(part.group(1)):
            found.append(vocab.canonical_brand(part.group(1)))
            position = part.end(1)
        else:
            break
    if len(found) < 2:
        return 0
    slots.brands_exclude.extend(b for b in found if b and b not in slots.brands_exclude)
    return position


def _vocabulary_terms(text: _Text, vocab: Vocabulary, slots: Slots) -> None:
    for start, end, phrase in _phrases(text, vocab):
        if not text.free(start, end):
            continue
        colour = vocab.canonical_colour(phrase, fuzzy=True)
        if colour and not slots.colour:
            slots.colour = colour
            text.take(start, end)
            continue
        short = len(phrase) < 5 or phrase in STOPWORDS
        brand = vocab.canonical_brand(phrase, fuzzy=not short and " " not in phrase)
        if brand and brand not in slots.brands and _brand_allowed(text, start, end, brand, vocab):
            slots.brands.append(brand)
            text.take(start, end)
            continue
        category = None if phrase in STOPWORDS else vocab.canonical_category(phrase, fuzzy=not short)
        if category and not slots.category:
            slots.category = category
            text.take(start, end)
            before = text.lower[:start].split()
            if before and slots.quantity is None and (before[-1].isdigit() or before[-1] in NUMBER_WORDS) \
                    and before[-1] not in ("a", "one"):
                qty = int(before[-1]) if before[-1].isdigit() else NUMBER_WORDS[before[-1]]
                if 1 <= qty <= 50:
                    slots.quantity = qty


def _cues_sort_refs(text: _Text, slots: Slots, cues: list[str], refs: list[int]) -> None:
    for name, pattern in SORTS:
        for m in text.finditer(pattern):
            slots.sort = slots.sort or name
            text.take(m.start(), m.end())
    for name, pattern in CUES:
        for m in text.finditer(pattern):
            if name not in cues:
                cues.append(name)
            text.take(m.start(), m.end())
    for m in text.finditer(ORDINALS):
        refs.extend(i for i in _ordinal_indices(m.group(0)) if i not in refs)
        text.take(m.start(), m.end())
    for m in text.finditer(QUANTITY):
        raw = m.group("n")
        slots.quantity = int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw, 2)
        text.take(m.start(), m.end())


def _ordinal_indices(phrase: str) -> list[int]:
    phrase = phrase.lower()
    order = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "last": -1}
    many = re.search(r"(first|top)\s+(two|three|2|3)|both|these two|those two|the two", phrase)
    if many:
        n = {"two": 2, "three": 3, "2": 2, "3": 3}.get(many.group(2) or "two", 2) if many.lastindex else 2
        return list(range(1, n + 1))
    found = [order[w] for w in re.findall(r"first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last", phrase)]
    numbers = [int(n) for n in re.findall(r"(?:#|number |no\. ?|option |item )(\d)", phrase)]
    return found + numbers


def _keywords(text: _Text, slots: Slots) -> None:
    for m in re.finditer(r"[a-z][a-z'\-]*", text.lower):
        if not text.free(m.start(), m.end()):
            continue
        word = m.group(0).strip("'-")
        word = {"men's": "men", "mens": "men", "women's": "women", "womens": "women", "kid's": "kids",
                "kids'": "kids", "girl's": "girls", "boy's": "boys"}.get(word, word)
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) >= 2 and word not in STOPWORDS and word not in slots.keywords:
            slots.keywords.append(word)


def _correct_typos(message: str, vocab: Vocabulary) -> str:
    """Replace words one typo away from a vocabulary word ("wach" -> "watch", "balck" -> "black")."""
    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        low = word.lower()
        if low in STOPWORDS or low in _KEEP:
            return word
        fixed = vocab.correct_word(low)
        return word if fixed == low else fixed
    return re.sub(r"[A-Za-z]{4,}", fix, message)


_KEEP = frozenset("loves love tenner fiver quid bucks pounds euros rupees dollars compare wedding present".split())


def extract(message: str, vocab: Vocabulary | None = None) -> Extraction:
    """Read one message with rules only (microseconds to a few ms; never raises on odd text).

    Args:
        message: the shopper's text, any case.
        vocab: brands and categories of the catalog; ``Vocabulary.default()`` when None.
    Returns:
        an :class:`Extraction` (slots, cues such as "cheaper"/"more"/"other_brand"/"reset"/"compare",
        and 1-based references to the last shown list).
    """
    vocab = vocab or Vocabulary.default()
    text, slots, cues, refs = _Text(_correct_typos(message or "", vocab)), Slots(), [], []
    _age(text, slots)  # before prices and quantities: "my 4 year old" is neither
    _prices(text, slots)
    _order_id(text, slots)
    _cues_sort_refs(text, slots, cues, refs)
    _size(text, slots)
    _negations(text, vocab, slots, cues)
    _vocabulary_terms(text, vocab, slots)
    _keywords(text, slots)
    if slots.price_min is not None and slots.price_max is not None and slots.price_min > slots.price_max:
        slots.price_min, slots.price_max = slots.price_max, slots.price_min
    return Extraction(slots=slots, cues=cues, refs=refs)

def rewrite_query(message: str, slots: Slots) -> str:
    """A short retrieval query: colour, brands, keywords and category ("red nike running shoes")."""
    parts = [slots.colour or "", *slots.brands, *slots.keywords, slots.category or ""]
    query = " ".join(p for p in parts if p).strip()
    return query or " ".join(message.split())[:200]

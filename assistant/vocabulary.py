"""The words the slot extractors know: brands and categories from the catalog, plus built-in colours.

A :class:`Vocabulary` is immutable and built once per catalog (``Vocabulary.from_products``) or from
the built-in lists alone (``Vocabulary.default()``). It answers "which brand / category / colour
does this phrase name?", tolerating small typos ("adiddas", "sneakrs") through ``difflib``.

Brands that are also ordinary words in the catalog ("slim", "prime", "classic") are *ambiguous*:
they only count as a brand when the shopper capitalises them or says "brand"/"by" next to them, so
"slim fit jeans" does not become a brand filter.

Example::

    >>> v = Vocabulary.default().with_terms(brands=["Nike", "Adidas"])
    >>> v.canonical_brand("adiddas")
    'adidas'
    >>> v.canonical_category("sneakrs")
    'sneakers'
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

COLOURS: dict[str, str] = {
    # surface form -> canonical colour
    **{c: c for c in (
        "red", "blue", "green", "black", "white", "yellow", "orange", "purple", "pink", "brown", "grey",
        "beige", "navy", "maroon", "gold", "silver", "golden", "cream", "olive", "teal", "turquoise",
        "violet", "magenta", "khaki", "tan", "peach", "lavender", "burgundy", "mustard", "multicolor",
        "navy blue", "sky blue", "royal blue", "light blue", "dark blue", "dark green", "light green",
        "rose gold", "off white", "wine", "coral", "mint", "charcoal", "ivory", "copper", "bronze",
        "transparent", "indigo", "aqua", "rust", "camel")},
    "gray": "grey", "multicolour": "multicolor", "multi colour": "multicolor", "multi color": "multicolor",
    "multi-colour": "multicolor", "multi-color": "multicolor", "blu": "blue", "blak": "black",
    "whit": "white", "pinkk": "pink", "golden": "gold",
}

CATEGORY_TERMS: tuple[str, ...] = (
    # built-in product nouns (singular and plural are both matched; the plural is kept as written)
    "shoes", "sneakers", "trainers", "running shoes", "sports shoes", "casual shoes", "formal shoes",
    "boots", "sandals", "slippers", "flip flops", "heels", "wedges", "ballerinas", "loafers", "flats",
    "footwear", "t-shirts", "tshirts", "shirts", "tops", "dresses", "jeans", "trousers", "shorts",
    "skirts", "jackets", "coats", "hoodies", "sweaters", "sweatshirts", "kurtas", "kurtis", "sarees",
    "leggings", "socks", "bras", "lingerie", "swimwear", "clothing", "watches", "wrist watches",
    "smartwatches", "rings", "necklaces", "earrings", "bracelets", "bangles", "pendants", "chains",
    "jewellery", "jewelry", "bags", "handbags", "backpacks", "wallets", "belts", "clutches",
    "sunglasses", "toys", "games", "board games", "puzzles", "jigsaws", "jigsaw puzzles", "dolls",
    "action figures", "figures", "lego sets", "building blocks", "puppets", "cars", "toy cars",
    "trains", "model trains", "plush toys", "soft toys", "teddy bears", "kites", "balls",
    "costumes", "fancy dress", "crayons", "pens", "mugs", "coffee mugs", "playsets", "card games",
    "headphones", "speakers", "chargers", "phone cases", "perfumes", "caps", "hats", "scarves",
    "gloves", "pyjamas", "nightwear",
)

SIZE_WORDS: dict[str, str] = {
    "xxs": "xxs", "xs": "xs", "s": "s", "m": "m", "l": "l", "xl": "xl", "xxl": "xxl", "xxxl": "xxxl",
    "2xl": "xxl", "3xl": "xxxl", "small": "s", "medium": "m", "large": "l", "extra large": "xl",
    "extra small": "xs", "x-large": "xl", "x large": "xl", "free size": "free size",
}

_WORD = re.compile(r"[a-z0-9][a-z0-9'&\-.]*")


def _variants(word: str) -> set[str]:
    """Spellings a plural/singular word may take ("hoodies" -> {"hoodies", "hoodie", "hoody"})."""
    out = {word}
    if len(word) > 3 and word.endswith("s"):
        out.add(word[:-1])
        if word.endswith("es"):
            out.add(word[:-2])
        if word.endswith("ies"):
            out.add(word[:-3] + "y")
    elif len(word) > 2:
        out.update({word + "s", word + "es"})
        if word.endswith("y"):
            out.add(word[:-1] + "ies")
    return out


def phrase_variants(phrase: str) -> set[str]:
    """Variants of the last word of a phrase: "running shoe" -> {"running shoe", "running shoes", ...}."""
    words = phrase.lower().split()
    if not words:
        return set()
    return {" ".join(words[:-1] + [v]) for v in _variants(words[-1])}


def singular_phrase(phrase: str) -> str:
    """A stable key for singular/plural-insensitive comparison (shortest variant of the last word)."""
    variants = phrase_variants(phrase)
    words = phrase.lower().split()
    if not words:
        return ""
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        last = last[:-1]
    return " ".join(words[:-1] + [last]) if variants else ""


@dataclass(frozen=True)
class Vocabulary:
    """Brands (lower case), categories (lower case, as the catalog names them) and colours.

    Attributes:
        brands: known brand names, lower case.
        ambiguous_brands: brands that are also common words in the catalog; matched only when
            capitalised in the message or next to "brand"/"by".
        categories: category phrases, lower case (built-in nouns plus short catalog category nodes).
    """

    brands: frozenset[str] = frozenset()
    ambiguous_brands: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset(CATEGORY_TERMS)
    _category_by_singular: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for category in sorted(self.categories, key=lambda c: (-len(c), c)):
            for variant in phrase_variants(category):
                index[variant] = category  # shorter names win on collisions
        for category in self.categories:
            index[category] = category
        object.__setattr__(self, "_category_by_singular", index)

    @classmethod
    def default(cls) -> Vocabulary:
        """Built-in colours and product nouns; no brands."""
        return cls()

    @classmethod
    def from_products(cls, products: Iterable[object], extra_brands: Iterable[str] = ()) -> Vocabulary:
        """Build from ``catalog.records.Product``-like objects (``brand``, ``category``, ``title``).

        Category nodes of at most three words are added to the built-in nouns. A brand that appears
        as a word in the titles of at least three products of *other* brands is marked ambiguous.
        """
        brands: set[str] = {b.strip().lower() for b in extra_brands if b and b.strip()}
        categories: set[str] = set(CATEGORY_TERMS)
        title_words: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for product in products:
            brand = (getattr(product, "brand", None) or "").strip().lower()
            if brand and len(brand) >= 2 and brand not in {"generic", "unbranded", "others", "na"}:
                brands.add(brand)
            for node in getattr(product, "category", None) or []:
                node = re.sub(r"\s+", " ", str(node).lower().replace("&", " ")).strip()
                if node and len(node.split()) <= 3 and len(node) >= 3 and not any(ch.isdigit() for ch in node):
                    categories.add(node)
            words = set(_WORD.findall(str(getattr(product, "title", "")).lower()))
            title_words.update(words)
            if brand:
                own.update(w for w in words if w == brand)
        ambiguous = {b for b in brands if " " not in b and title_words[b] - own[b] >= 3}
        return cls(frozenset(brands), frozenset(ambiguous), frozenset(categories))

    def with_terms(self, brands: Iterable[str] = (), categories: Iterable[str] = ()) -> Vocabulary:
        """A copy with more brands / categories (lower-cased)."""
        return replace(self, brands=self.brands | {b.lower() for b in brands},
                       categories=self.categories | {c.lower() for c in categories})

    # --- lookups -------------------------------------------------------------------------------
    def canonical_brand(self, phrase: str, fuzzy: bool = True) -> str | None:
        """The known brand this phrase names (exact, then a close typo for words of 5+ letters)."""
        phrase = phrase.lower().strip()
        if phrase in self.brands:
            return phrase
        if fuzzy and len(phrase) >= 5:
            close = difflib.get_close_matches(phrase, [b for b in self.brands if abs(len(b) - len(phrase)) <= 2],
                                              n=1, cutoff=0.82)
            return close[0] if close else None
        return None

    def canonical_category(self, phrase: str, fuzzy: bool = True) -> str | None:
        """The category phrase this names, singular/plural-insensitive, tolerating small typos."""
        key = phrase.lower().strip()
        if key in self._category_by_singular:
            return self._category_by_singular[key]
        if fuzzy and len(phrase) >= 5 and " " not in phrase:
            close = difflib.get_close_matches(key, [k for k in self._category_by_singular if " " not in k],
                                              n=1, cutoff=0.84)
            return self._category_by_singular[close[0]] if close else None
        return None

    @staticmethod
    def canonical_colour(phrase: str) -> str | None:
        """The canonical colour ("gray" -> "grey"), or None."""
        return COLOURS.get(phrase.lower().strip())

    def max_words(self) -> int:
        """Longest brand/category phrase in words (the n-gram window the extractor scans)."""
        lengths = [len(t.split()) for t in (*self.brands, *self.categories)] or [1]
        return max(3, min(max(lengths), 5))

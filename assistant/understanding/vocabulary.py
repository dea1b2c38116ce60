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

# Ordinary words that some catalogs use as brand names ("slim", "regular", "prime"): such a brand
# only counts when capitalised or next to "brand"/"by".
COMMON_WORDS: frozenset[str] = frozenset("""
action big regular slim prime plush mode character asian classic fashion style sports sport smart royal star super
gold silver pearl garnet diamond crystal cotton leather casual party kids kid baby home magic fun happy little mini
max pro ultra urban street free fit comfort soft cool fresh pure natural basic basics simple trendy modern vintage
elegant glamour beauty care selfcare health life living green red blue black white pink orange cm bob dragon
gift gifts toys toy games shoes watch watches ring rings jewel jewels collection craft crafts creative art arts
model world planet earth sun moon sky ocean sea wild nature boss king queen prince princess angel hero heroes
""".split())

_WORD = re.compile(r"[a-z0-9][a-z0-9'&\-.]*")


def within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion, substitution or swap of
    neighbours, and start with the same letter (typos rarely hit the first letter; this keeps
    "loves" from becoming "gloves"). A substitution only counts in words of 7+ letters, where it
    rarely turns one real word into another ("wife" must not become "wine")."""
    if a == b:
        return True
    if not a or not b or a[0] != b[0] or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return (len(diff) == 1 and len(a) >= 7) or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def brand_key(name: str) -> str:
    """Brand spelling used for matching: lower case, "&"/punctuation as spaces ("Mast & Harbour" -> "mast harbour")."""
    text = re.sub(r"[^a-z0-9']+", " ", name.lower())
    return " ".join(w for w in text.split() if w != "and")


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
    _brand_by_key: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    ancestors: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    _words: frozenset[str] = field(default_factory=frozenset, compare=False, repr=False)
    _category_words: frozenset[str] = field(default_factory=frozenset, compare=False, repr=False)
    _words_by_letter: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for category in sorted(self.categories, key=lambda c: (-len(c), c)):
            for variant in phrase_variants(category):
                index[variant] = category  # shorter names win on collisions
        for category in self.categories:
            index[category] = category
        object.__setattr__(self, "_category_by_singular", index)
        object.__setattr__(self, "_brand_by_key", {brand_key(b): b for b in sorted(self.brands)})
        words = set(COLOURS)
        for phrase in (*self.categories, *self._brand_by_key):
            words.update(phrase.split())
        for phrase in self.categories:
            words.update(v.split()[-1] for v in phrase_variants(phrase))
        words = {w for w in words if len(w) >= 4}
        category_words = {w for phrase in self.categories for v in phrase_variants(phrase) for w in v.split()}
        by_letter: dict[str, tuple[str, ...]] = {}
        for word in sorted(words):
            by_letter[word[0]] = by_letter.get(word[0], ()) + (word,)
        object.__setattr__(self, "_category_words", frozenset(category_words))
        object.__setattr__(self, "_words", frozenset(words))
        object.__setattr__(self, "_words_by_letter", by_letter)

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
        node_counts: Counter[str] = Counter()
        ancestors: dict[str, set[str]] = {}
        title_words: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for product in products:
            brand = (getattr(product, "brand", None) or "").strip().lower()
            if brand and len(brand) >= 2 and brand not in {"generic", "unbranded", "others", "na"}:
                brands.add(brand)
            path = [re.sub(r"\s+", " ", str(n).lower().replace("&", " ")).strip() for n in
                    (getattr(product, "category", None) or [])]
            for depth, node in enumerate(path):
                ancestors.setdefault(node, set()).update(path[:depth])
            for node in path:
                if node and len(node.split()) <= 3 and len(node) >= 3 and not any(ch.isdigit() for ch in node):
                    node_counts[node] += 1
            words = set(_WORD.findall(str(getattr(product, "title", "")).lower()))
            title_words.update(words)
            if brand:
                own.update(w for w in words if w == brand)
        from assistant.understanding.slot_patterns import STOPWORDS

        ambiguous = {b for b in brands if " " not in b
                     and (b in COMMON_WORDS or b in COLOURS or b in STOPWORDS or len(b) <= 3)}
        # a brand made only of everyday product words ("regular fit", "action figures", "party bag
        # fillers") names a thing more often than a maker: matched only capitalised or next to "by"/"brand"
        ambiguous |= {b for b in brands if " " in b and all(title_words[w] >= 3 for w in b.split())}
        # keep catalog nodes shared by 3+ products that are not a brand name (+ noun): "allen solly dresses"
        node_words = Counter(w for c in node_counts for w in set(c.split()))
        builtin_words = {w for t in CATEGORY_TERMS for w in t.split()}
        categories = set(CATEGORY_TERMS) | {
            c for c, n in node_counts.items()
            if n >= 3 and c not in brands and not any(c.startswith(b + " ") for b in brands if len(b) > 2)
            and all(node_words[w] >= 2 or w in builtin_words for w in c.split())}
        return cls(frozenset(brands), frozenset(ambiguous), frozenset(categories),
                   ancestors={k: frozenset(v) for k, v in ancestors.items() if v})

    def with_terms(self, brands: Iterable[str] = (), categories: Iterable[str] = ()) -> Vocabulary:
        """A copy with more brands / categories (lower-cased)."""
        return replace(self, brands=self.brands | {b.lower() for b in brands},
                       categories=self.categories | {c.lower() for c in categories})

    # --- lookups -------------------------------------------------------------------------------
    def canonical_brand(self, phrase: str, fuzzy: bool = True) -> str | None:
        """The known brand this phrase names (exact, then a close typo for words of 5+ letters)."""
        key = brand_key(phrase)
        if key in self._brand_by_key:
            return self._brand_by_key[key]
        if fuzzy and len(key) >= 6:
            for candidate, brand in self._brand_by_key.items():
                if len(candidate) >= 6 and within_one_edit(key, candidate):
                    return brand
        return None

    def canonical_category(self, phrase: str, fuzzy: bool = True) -> str | None:
        """The category phrase this names, singular/plural-insensitive, tolerating small typos."""
        key = phrase.lower().strip()
        if key in self._category_by_singular:
            return self._category_by_singular[key]
        if fuzzy and len(key) >= 4 and " " not in key:
            for candidate, category in self._category_by_singular.items():
                if " " not in candidate and len(candidate) >= 4 and within_one_edit(key, candidate):
                    return category
        return None

    @staticmethod
    def canonical_colour(phrase: str, fuzzy: bool = False) -> str | None:
        """The canonical colour ("gray" -> "grey"; with ``fuzzy`` also "balck" -> "black"), or None."""
        phrase = phrase.lower().strip()
        if phrase in COLOURS:
            return COLOURS[phrase]
        if fuzzy and len(phrase) >= 5 and " " not in phrase:
            for candidate, colour in COLOURS.items():
                if len(candidate) >= 4 and " " not in candidate and within_one_edit(phrase, candidate):
                    return colour
        return None

    def correct_word(self, word: str) -> str:
        """A vocabulary word one typo away from ``word`` (4+ letters, same first letter), else ``word``."""
        if len(word) < 4 or word in self._words:
            return word
        for candidate in self._words_by_letter.get(word[0], ()):
            if len(word) == 4 and candidate not in self._category_words:
                continue  # 4-letter typos only towards product nouns ("wach" -> "watch", not "came" -> "camel")
            if (len(candidate) >= len(word) or len(word) >= 7) and within_one_edit(word, candidate):
                return candidate
        return word

    def narrower_or_same(self, new: str, old: str) -> bool:
        """True when category ``new`` is ``old``, shares its head noun ("running shoes"/"shoes"), or sits
        under it in the catalog tree ("necklaces" under "jewellery"): a refinement, not a new topic."""
        a, b = singular_phrase(new), singular_phrase(old)
        if a == b or a.split()[-1:] == b.split()[-1:]:
            return True
        return old in self.ancestors.get(new, frozenset()) or b in {singular_phrase(x) for x in
                                                                       self.ancestors.get(new, frozenset())}

    def max_words(self) -> int:
        """Longest brand/category phrase in words (the n-gram window the extractor scans)."""
        lengths = [len(t.split()) for t in (*self.brands, *self.categories)] or [1]
        return max(3, min(max(lengths), 5))

"""What a product request is about: the product kind, the shopper's interest, and the search focus.

Rules, no model (microseconds)::

    >>> f = request_focus("I need a present for my niece, she loves unicorns")
    >>> f.kind, f.interest, f.must, f.from_interest
    (None, 'unicorns', ('unicorn',), True)
    >>> request_focus("a blue lehenga for a wedding, under 5000 rupees").kind
    'lehenga'

* ``kind`` — the product noun phrase ("saree", "gaming laptop", "running shoes"), None when the
  request names no product ("a present", "something for a 3 year old").
* ``interest`` — what the recipient loves ("dinosaurs", "thomas the tank engine"), from "loves",
  "is into", "fan of", "mad about" ...
* ``must`` — stems of which every shown product must contain at least one (title, category or
  brand): the relevance floor's lexical half. Empty = no lexical floor (the dense floor still applies).

:class:`KindIndex` knows which product kinds the catalog carries (titles without the brand, and
category nodes ending in the word), so the assistant can say "we don't carry sarees" honestly.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.understanding.slot_patterns import STOPWORDS
from assistant.understanding.vocabulary import COLOURS

_OPENER = re.compile(r"\b(?:i (?:really )?(?:need|want)|i'd like|i would like|i'm after|looking for|i'm looking for|"
                     r"search(?:ing)? for|(?:can|could) (?:you )?(?:show|find|get) me|can i see|show me|find me|get me|buy|do you (?:have|sell|stock|carry)|have you got|"
                     r"got any|any)\b")
_BOUNDARY = re.compile(r"\b(?:for|with|under|below|over|that|which|who|to|as|from|by|on|at|within|less|than|around|"
                       r"between|is|are|was|in|please|but|and|or|max|up|we|you|i|they|he|she|it|can|will|should|so|if)\b|[,.;:!?()]")
_INTEREST = re.compile(r"\b(?:loves?|likes?|enjoys?|is into|are into|into|fan of|mad about|obsessed with|crazy about|"
                       r"keen on|passionate about)\s+([a-z0-9' &\-]+?)(?=\s*(?:[,.;:!?]|\bunder\b|\bbelow\b|\bmax\b|"
                       r"\bbudget\b|\bup to\b|\bany\b|\bwhat\b|\bfor (?:his|her|their|my)\b|$))")
# words that describe the occasion, the recipient or the wish, never the product
FILLER = frozenset("""gift gifts present presents birthday christmas xmas anniversary wedding party occasion idea ideas
suggestion suggestions surprise treat something anything stuff thing things one ones son daughter nephew niece
grandson granddaughter grandmother grandma granny grandad grandpa grandfather dad daddy mum mummy mom mother father
wife husband boyfriend girlfriend partner friend friends colleague boss teacher sister brother cousin uncle auntie
aunt kid kids child children boy boys girl girls toddler teen teenager teenage man men woman women lady ladies adult
adults year years old month months yr yrs age aged little small big bigger large new latest good nice cheap best
lovely beautiful cute pretty comfortable simple cool great pro max plus mini ultra decent quality durable proper
real perfect special unique favourite favorite loves love likes like his her their my our your day days week weeks
time holiday holidays summer winter spring autumn daily everyday casual recommend recommendation recommendations
suggest suggestions advice pick picks choose educational fun interesting curious busy keep""".split())
# head words too general to be the product: the word before them names it ("dinosaur toys")
GENERIC_HEADS = frozenset("toy toys accessory accessories item items product products stuff clothes clothing wear model "
                          "models".split())
_NOT_THE_THING = frozenset("accessories accessory parts spares spare care covers cover cases case".split())
_KEEP_S = frozenset("canvas thomas atlas christmas xmas texas gas alias bias lens dress glass".split())
PACKAGING = frozenset("set sets pack packs kit kits pair pairs piece pieces pcs combo box bundle collection".split())
# units of a size ("1/2 inch screws"): part of the size, never the kind
UNITS = frozenset("inch inches in ft feet foot cm mm metre meter gal gallon gallons litre liter volt volts amp amps "
                  "watt watts lb lbs oz pk pc ct".split())


def stem(word: str) -> str:
    """Singular, lower-case form of one word ("dinosaurs" -> "dinosaur", "watches" -> "watch")."""
    w = word.lower().strip("'-")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) and w not in _KEEP_S:
        return w[:-1]
    return w


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'\-]*", text.lower().replace("’", "'"))


def _content(words: Iterable[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS and w not in FILLER and w not in COLOURS
            and not re.fullmatch(r"[\d.,'\-]+|\d+(?:st|nd|rd|th|s|yo|k|cm|ml|mm|l|g|kg|gb|in)?", w) and len(w) > 1]


@dataclass(frozen=True)
class Focus:
    kind: str | None = None
    interest: str | None = None
    must: tuple[str, ...] = ()  # kind: the specific nouns, head last; interest: any of them
    from_interest: bool = False
    query_terms: tuple[str, ...] = field(default_factory=tuple)

    @property
    def vague(self) -> bool:
        """Names neither a product nor an interest ("something to keep a 3 year old busy")."""
        return not self.kind and not self.interest


def request_focus(message: str) -> Focus:
    """Read the kind and interest of one product request (see the module docstring)."""
    text = (message or "").lower().replace("’", "'")
    interest_match = _INTEREST.search(text)
    interest_words = _content(_words(interest_match.group(1))) if interest_match else []
    opener = None
    for opener in _OPENER.finditer(text):
        pass
    rest = text[opener.end():] if opener else text
    if interest_match and interest_match.start() < (opener.end() if opener else 0) <= interest_match.end():
        rest = text
    head = _BOUNDARY.split(rest.strip(), maxsplit=1)[0] if rest.strip() else ""
    kind_words = [w for w in _content(_words(head)) if w not in PACKAGING] or \
        [w for w in _content(_words(head))]
    if interest_match and head and interest_match.group(1).startswith(head.strip()):
        kind_words = []  # the phrase after "loves" is the interest, not the product
    kind = " ".join(kind_words) or None
    interest = " ".join(interest_words) or None
    if interest_words and not kind_words:
        must_words = interest_words
    else:
        must_words = [w for w in kind_words if w not in PACKAGING and w not in GENERIC_HEADS]
    must = tuple(dict.fromkeys(stem(w) for w in must_words))
    terms = tuple(dict.fromkeys([*kind_words, *interest_words]))
    return Focus(kind, interest, must, bool(interest_words and not kind_words), terms)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insertion, deletion or substitution."""
    if a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((n for n, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def product_terms(title: str, brand: str | None, category_path: str) -> set[str]:
    """Stems a product is *about*: its title without the brand, and its category path."""
    brand_words = set(_words(brand or ""))
    words = [w for w in _words(title) if w not in brand_words] + _words(category_path)
    return {stem(w) for w in words}


def mentions(product: object, stems: Iterable[str], every: bool = False) -> bool:
    """Does the product's title, brand, category or attributes contain any (``every``: all) of ``stems``?"""
    attributes = " ".join(str(getattr(v, "value", v)) for v in (getattr(product, "attributes", None) or {}).values())
    words = {stem(w) for w in _words(f"{getattr(product, 'title', '')} {getattr(product, 'brand', '') or ''} "
                                     f"{getattr(product, 'category_path', '')} {attributes}")}
    return all(s in words for s in stems) if every else any(s in words for s in stems)


class KindIndex:
    """Which product kinds the catalog carries.

    A kind is carried when some product's title (without its brand) or attribute values contain all
    its words, or a category node ends in its head noun ("Figures & Playsets > Dinosaurs" carries
    "dinosaur"). See :meth:`match` for the partial case.
    """

    def __init__(self, products: Iterable[object]) -> None:
        self._titles: dict[str, set[int]] = {}
        self._nodes: set[str] = set()
        self.size = 0
        for number, product in enumerate(products):
            self.size += 1
            brand_words = set(_words(getattr(product, "brand", None) or ""))
            attributes = " ".join(str(getattr(v, "value", v)) for v in (getattr(product, "attributes", None) or {}).values())
            for word in _words(f"{getattr(product, 'title', '')} {attributes}"):
                if word not in brand_words:
                    self._titles.setdefault(stem(word), set()).add(number)
            for node in re.split(r"\s*>\s*", getattr(product, "category_path", "") or ""):
                words = _words(node)
                for word, after in zip(words, [*words[1:], ""]):  # "laptop accessories": not laptops
                    if after not in _NOT_THE_THING and word not in brand_words:
                        self._titles.setdefault(stem(word), set()).add(number)
                if words:
                    self._nodes.add(stem(words[-1]))
                    for left, right in zip(words, words[1:]):  # "Kites & Flight Toys": kites too
                        if right in ("&", "and") or left.endswith(","):
                            self._nodes.add(stem(left))
                    if "&" in node or " and " in node:
                        for part in re.split(r"\s*(?:&|\band\b)\s*", node.lower()):
                            if part.split():
                                self._nodes.add(stem(part.split()[-1]))

    def required(self, focus: Focus, min_products: int = 3) -> tuple[tuple[str, ...], bool]:
        """The relevance floor's lexical test for ``focus``: (stems, every). A kind needs all its
        specific nouns when at least ``min_products`` products have them all, else its head noun; an
        interest needs any of its words."""
        if not focus.must:
            return (), False
        if focus.from_interest:
            return focus.must, False
        sets = [self._titles.get(w, set()) for w in focus.must]
        if len(focus.must) > 1 and len(set.intersection(*sets)) >= min_products:
            return focus.must, True
        return focus.must[-1:], True

    def _spelled(self, word: str) -> str:
        """The catalog's word for a misspelt one ("couplingg" -> "coupling", "chandilier" ->
        "chandelier"): one edit away, for words of five letters or more; else the word itself."""
        if word in self._titles or len(word) < 5:
            return word
        for known in self._titles:
            if abs(len(known) - len(word)) <= 1 and known[0] == word[0] and _one_edit(known, word):
                return known
        return word

    def match(self, kind: str) -> str:
        """"full" (products of exactly this kind), "head" (the noun but not its modifier: no *electric*
        bike, only bikes) or "none" (nothing of the kind: "washing machine", "saree"). A word one
        typing error away from a catalog word counts as that word."""
        words = [self._spelled(stem(w)) for w in _content(_words(kind)) if w not in PACKAGING and w not in UNITS
                 and not re.fullmatch(r"\d+(?:x\d+)+", w)]
        if not words:
            return "full"
        specific = [w for w in words if w not in GENERIC_HEADS] or words
        if set.intersection(*[self._titles.get(w, set()) for w in specific]):
            return "full"
        head = specific[-1]
        found = bool(self._titles.get(head)) or head in self._nodes
        if not found:
            return "none"
        if len(specific) == 1:
            return "full"
        if any(w.endswith("ing") and w not in self._titles for w in words[:-1]):
            return "none"  # "washing machine" is not a kind of machine we carry
        return "head" if len(specific) == 2 else "full"

    def carries(self, kind: str) -> bool:
        """True when the catalog has products of this kind (see :meth:`match`)."""
        return self.match(kind) == "full"

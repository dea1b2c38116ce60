"""Query spelling correction and normalisation against the catalog's own vocabulary.

Shoppers type "toliet seat", "3/4in pipe", "2x4x8": words the catalog never spells that way, which
BM25 then simply drops (an unknown term scores nothing). :class:`QueryRewriter` rewrites a query
before retrieval:

1. **numbers and units** glued together are split ("3/4in" -> "3/4 in", "10ft" -> "10 ft",
   "2x4" -> "2 x 4"), as catalog titles write them;
2. a word the catalog does not know (neither the word nor its stem occurs in any product text) is
   replaced by its closest catalog word (SymSpell, Damerau-Levenshtein distance ``max_distance``,
   ties broken by how often the catalog uses the word); words shorter than ``min_length`` and words
   with digits are left alone;
3. an unknown word that no edit fixes is split into two catalog words when it can be ("pvcpipe");
4. optionally (``rare_ratio``) a word the catalog uses at most ``rare_max`` times is replaced by a
   word one edit away that the catalog uses ``rare_ratio`` times as often (catalogs have typos too);
5. optionally (``units``) a unit right after a number is spelt as the catalog spells it most often
   among its aliases ("18 v" -> "18 volt" when titles say "18-Volt").

The vocabulary is built from **catalog text only** (titles, brands, categories, descriptions:
:func:`catalog_words`), never from queries; the BM25 index stores it beside itself
(``words.json``) so serving and evaluation use the same one.

Example::

    rewriter = QueryRewriter({"toilet": 40, "seat": 30, "in": 90, "pipe": 50})
    rewriter.rewrite("toliet seat 3/4in pipe")   # 'toilet seat 3/4 in pipe'
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

_WORD = re.compile(r"(?u)\b\w+\b")
_ALPHA = re.compile(r"^[^\W\d_]+$")
# units catalog titles write after a number; "x" joins dimensions ("2x4")
_UNIT_WORDS = ("in", "inch", "inches", "ft", "feet", "foot", "v", "volt", "volts", "w", "watt", "watts", "amp",
               "amps", "ah", "gal", "gallon", "gallons", "qt", "oz", "lb", "lbs", "mm", "cm", "m", "btu", "psi",
               "ga", "gauge", "pc", "pk", "ml", "l", "kg", "g", "hp", "mah", "cu", "sq", "yd", "mil", "x")
_GLUED_UNIT = re.compile(r"(?i)(\d)(" + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True)) + r")\b")
_DIMENSION = re.compile(r"(?i)(\d)\s*[x*]\s*(?=\d)")
UNIT_ALIASES = (("in", "inch", "inches"), ("ft", "foot", "feet"), ("v", "volt", "volts"), ("w", "watt", "watts"),
                ("amp", "amps"), ("gal", "gallon", "gallons"), ("oz", "ounce", "ounces"),
                ("lb", "lbs", "pound", "pounds"), ("qt", "quart", "quarts"), ("pc", "piece", "pieces"),
                ("pk", "pack"), ("yd", "yard", "yards"), ("sq", "square"), ("cu", "cubic"), ("ga", "gauge"))
_AFTER_NUMBER = re.compile(r"(?i)(\d[\d/.\-]*)(\s*)([^\W\d_]+)\b")


def catalog_words(texts: Iterable[str]) -> Counter:
    """How often each lower-case word occurs in ``texts`` (catalog texts: the vocabulary)."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(_WORD.findall(text.lower()))
    return counts


def normalise_units(query: str) -> str:
    """Split numbers from glued units and dimensions: "3/4in" -> "3/4 in", "2x4x8" -> "2 x 4 x 8"."""
    text = _DIMENSION.sub(r"\1 x ", query)
    text = _GLUED_UNIT.sub(r"\1 \2", text)
    return _DIMENSION.sub(r"\1 x ", text)


@dataclass(frozen=True)
class Rewrite:
    text: str  # the rewritten query
    changes: tuple[tuple[str, str], ...]  # (word as typed, replacement) for each corrected word


class QueryRewriter:
    """Rewrites queries towards the catalog vocabulary ``counts`` (word -> occurrences).

    Args:
        counts: catalog word counts (:func:`catalog_words`).
        known_stem: optional predicate "this stem is in the index" (a plural of a catalog word is known).
        stem: the stemmer the index uses (list of words -> list of stems), with ``known_stem``.
        max_distance: largest edit distance of a correction (1 for words of ``short_length`` or fewer).
        min_length: shorter words are never corrected.
        min_count: a correction must occur at least this often in the catalog.
    """

    def __init__(self, counts: Mapping[str, int], known_stem: Callable[[str], bool] | None = None,
                 stem: Callable[[list[str]], list[str]] | None = None, max_distance: int = 2,
                 min_length: int = 4, short_length: int = 5, min_count: int = 2, split: bool = True,
                 rare_ratio: float = 0.0, rare_max: int = 2, units: bool = True):
        from symspellpy import SymSpell

        self.counts = {w: int(c) for w, c in counts.items() if c > 0}
        self.known_stem, self.stem = known_stem, stem
        self.max_distance, self.min_length, self.short_length = max_distance, min_length, short_length
        self.min_count, self.split = min_count, split
        self.rare_ratio, self.rare_max, self.units = rare_ratio, rare_max, units
        self._unit = {}  # alias -> the catalog's most used spelling of that unit
        for group in UNIT_ALIASES:
            best = max(group, key=lambda a: (self.counts.get(a, 0), -group.index(a)))
            self._unit.update({a: best for a in group})
        self._symspell = SymSpell(max_dictionary_edit_distance=max_distance, prefix_length=7,
                                  count_threshold=min_count)
        for word, count in self.counts.items():
            if _ALPHA.match(word) and len(word) >= 2:
                self._symspell.create_dictionary_entry(word, count)
        self._cache: dict[str, str | None] = {}

    def config(self) -> dict:
        return {"max_distance": self.max_distance, "min_length": self.min_length, "short_length": self.short_length,
                "min_count": self.min_count, "split": self.split, "rare_ratio": self.rare_ratio,
                "rare_max": self.rare_max, "units": self.units, "words": len(self.counts)}

    def known(self, word: str) -> bool:
        if word in self.counts:
            return True
        return bool(self.known_stem and self.stem and self.known_stem(self.stem([word])[0]))

    def correct_word(self, word: str) -> str | None:
        """The catalog word(s) for an unknown ``word`` (lower case), or None to keep it."""
        if word in self._cache:
            return self._cache[word]
        found = None
        if len(word) >= self.min_length and _ALPHA.match(word):
            if not self.known(word):
                found = self._closest(word) or (self._split(word) if self.split else None)
            elif self.rare_ratio and self.counts.get(word, 0) <= self.rare_max:
                found = self._more_common(word)
        if len(self._cache) < 100_000:
            self._cache[word] = found
        return found

    def _closest(self, word: str) -> str | None:
        from symspellpy import Verbosity

        distance = 1 if len(word) <= self.short_length else self.max_distance
        suggestions = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        if not suggestions:
            return None
        best = min(suggestions, key=lambda s: (s.distance, -s.count, s.term))
        return best.term if best.count >= self.min_count else None

    def _more_common(self, word: str) -> str | None:
        """A word one edit from a rare catalog word that the catalog uses far more often."""
        from symspellpy import Verbosity

        count = self.counts.get(word, 0)
        if self.stem and self.known_stem and count == 0:  # known only through its stem: a real inflection
            return None
        others = [s for s in self._symspell.lookup(word, Verbosity.ALL, max_edit_distance=1) if s.term != word]
        best = max(others, key=lambda s: (s.count, s.term), default=None)
        if best is None or best.count < self.rare_ratio * max(1, count):
            return None
        if self.stem and self.stem([best.term])[0] == self.stem([word])[0]:
            return None
        return best.term

    def _split(self, word: str) -> str | None:
        """Two catalog words that together spell ``word`` (the pair whose rarer half is most common)."""
        best, best_count = None, 0
        for cut in range(2, len(word) - 1):
            left, right = word[:cut], word[cut:]
            count = min(self.counts.get(left, 0), self.counts.get(right, 0))
            if count >= max(self.min_count, 5) and count > best_count:
                best, best_count = f"{left} {right}", count
        return best

    def rewrite(self, query: str) -> Rewrite:
        """The query with units split and unknown words corrected (other text kept as typed)."""
        text = normalise_units(query)
        changes = []

        def replace(match: re.Match) -> str:
            word = match.group(0)
            fixed = self.correct_word(word.lower())
            if fixed is None:
                return word
            changes.append((word, fixed))
            return fixed

        text = _WORD.sub(replace, text)
        if self.units:
            def unit(match: re.Match) -> str:
                spelt = self._unit.get(match.group(3).lower())
                if spelt is None or spelt == match.group(3).lower():
                    return match.group(0)
                changes.append((match.group(3), spelt))
                return f"{match.group(1)}{match.group(2)}{spelt}"

            text = _AFTER_NUMBER.sub(unit, text)
        return Rewrite(text, tuple(changes))

"""The ages a product is meant for, read from what its title and description state.

Toy listings say it in a handful of ways: "Ages 3-4 Years", "Age 3+ years", "from 3 years",
"suitable for ages 6 to 14", "14+ years", and the safety warning "not suitable for children under
36 months" (which makes 3 the youngest age). :func:`age_range` collects every such statement and
keeps the narrowest range they agree on; a product that states nothing has no range (and is never
excluded for it).

Example::

    >>> age_range("Wooden railway. Ages 3-6 years. Not suitable for children under 36 months")
    AgeRange(low=3.0, high=6.0)
    >>> age_range("Hornby 00 gauge train set") is None
    True
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT = r"(?P<unit>years?|yrs?|months?|mths?)(?:\s*-?\s*olds?)?"
_NUM = r"\d{1,2}(?:\.5)?"
_AGE = r"(?P<age>age group|ages?|aged|age requirement)"
_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                          "thirteen fourteen fifteen sixteen seventeen eighteen".split())}
_WORD = re.compile(rf"\b({'|'.join(_WORDS)})\b")
_UP = r"(?:\+|plus|&\s*up|and up|and over|and above|&\s*above|or older|and older|or over)"
_NOT_AGE = re.compile(r"\s*(?:of\s+)?(?:warrant|guarant|experience|shelf|life|old warrant)")
# Each pattern counts only with a unit or an age word ("2+ players", "100+ pieces" are not ages).
_PATTERNS = (
    # "not suitable for children under 3 years", "not for children under 36 months": the youngest age
    re.compile(rf"\bnot (?:suitable |intended |recommended )?for (?:children|kids|babies|infants)?\s*(?:aged\s+)?"
               rf"(?:under|below|less than|younger than)\s+(?:the age of\s+)?(?P<low>{_NUM})\s*-?\s*{_UNIT}"),
    # "ages 3-6 years", "age group 4 - 14 years", "(6-8 years)", "3 to 5 years old", "from 6 up to 12 years"
    re.compile(rf"(?:\b{_AGE}\s*:?\s*(?:from\s+)?|\bfrom\s+)?(?:up\s*to\s+)?\b(?P<low>{_NUM})\s*"
               rf"(?:-|–|to|through|up to)\s*(?P<high>{_NUM})\s*-?\s*(?:{_UNIT})?"),
    # "age 3+ years", "6 years +", "3 years & up", "3-years-old and up", "ages 4 and up"
    re.compile(rf"(?:\b{_AGE}\s*:?\s*)?\b(?P<low>{_NUM})\s*-?\s*(?:{_UNIT})?\s*{_UP}\s*(?:{_UNIT.replace('unit', 'unit2')})?"),
    # "over the age of 8 years", "above 13-year-old", "minimum age requirement: 8 years", "from 3 years",
    # "for 3-year-old", "children of 6 years"
    re.compile(rf"(?:\bover the age of|\babove|\bover|\bolder than|\b{_AGE}\s*:?\s*-?|\bfrom|\bof)\s+(?P<low>{_NUM})\s*-?\s*{_UNIT}"),
    re.compile(rf"\b(?P<low>{_NUM})\s*-\s*(?P<unit>years?|months?)\s*-\s*olds?\b"),
)


@dataclass(frozen=True)
class AgeRange:
    """Ages in years; ``high`` None means no upper age."""

    low: float
    high: float | None = None

    def fits(self, age: float) -> bool:
        return self.low <= age and (self.high is None or age <= self.high)

    def describe(self) -> str:
        """"ages 3+" or "ages 3-6" (months below two years: "ages 18 months+")."""
        def years(value: float) -> str:
            return f"{round(value * 12)} months" if value < 2 and value != int(value) else f"{value:g}"
        return f"ages {years(self.low)}+" if self.high is None else f"ages {years(self.low)}-{years(self.high)}"


def product_ages(product) -> AgeRange | None:
    """The ages a :class:`catalog.records.Product` states in its title, category path, attributes or description."""
    attributes = " ".join(f"{key} {a.value}." for key, a in product.attributes.items())
    return age_range(f"{product.title}. {product.category_path}. {attributes} {product.description}")


def _years(number: str, unit: str | None) -> float:
    value = float(number)
    return value / 12 if unit and unit.startswith("m") else value


def age_range(text: str) -> AgeRange | None:
    """The range every age statement in ``text`` allows, or None when it states none (or they conflict)."""
    lows, highs = [], []
    lowered = _WORD.sub(lambda m: _WORDS[m.group(1)], text.lower())
    for pattern in _PATTERNS:
        for m in pattern.finditer(lowered):
            groups = m.groupdict()
            unit = groups.get("unit") or groups.get("unit2")
            if unit is None and groups.get("age") is None or _NOT_AGE.match(lowered, m.end()):
                continue
            low = _years(groups["low"], unit)
            high = _years(groups["high"], unit) if groups.get("high") else None
            if low > 18 or (high is not None and (high < low or high > 99)):
                continue
            lows.append(low)
            if high is not None:
                highs.append(high)
    if not lows:
        return None
    low, high = max(lows), (min(highs) if highs else None)
    if high is not None and high < low:
        return None
    return AgeRange(low, high)

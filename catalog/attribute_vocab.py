"""The attribute vocabulary: canonical values and the surface forms that map to them.

Everything here is an immutable constant (tuples and read-only mappings), so importing it shares no
mutable state. :mod:`catalog.attributes` compiles these into regexes once per extractor object.

Each ``*_ALIASES`` table maps a lower-case surface form to its canonical value. Canonical values are
what filters and explanations see (``colour == "grey"``, ``gender == "women"``). To add a value, add
its surface forms here; the hand-labelled file ``data/labels/attributes_100.jsonl`` uses the same
canonical values, so run ``shopassist eval attributes`` after a change.

Example::

    >>> COLOUR_ALIASES["gray"]
    'grey'
"""
from __future__ import annotations

from types import MappingProxyType


def _table(groups: dict[str, tuple[str, ...]]) -> MappingProxyType:
    """Turn ``canonical -> (alias, ...)`` into a read-only ``alias -> canonical`` mapping."""
    flat: dict[str, str] = {}
    for canonical, aliases in groups.items():
        flat[canonical] = canonical
        for alias in aliases:
            flat[alias] = canonical
    return MappingProxyType(flat)


COLOUR_ALIASES = _table({
    "black": ("jet black",), "white": ("off white", "off-white"), "red": (), "blue": ("royal blue", "sky blue", "light blue", "dark blue"),
    "navy": ("navy blue",), "green": ("dark green", "light green"), "yellow": (), "pink": ("light pink", "dark pink"),
    "purple": (), "violet": (), "orange": (), "brown": ("dark brown",), "grey": ("gray", "dark grey", "light grey"),
    "silver": (), "gold": ("golden",), "beige": (), "maroon": (), "cream": (), "turquoise": (),
    "khaki": (), "olive": (), "magenta": (), "peach": (), "ivory": (), "bronze": (), "copper": (),
    "multicolor": ("multicolour", "multi color", "multi colour", "multi-color", "multi-colour", "multicoloured",
                   "multicolored", "multi"),
    "transparent": ("clear",), "rose gold": (), "chrome": (), "tan": (), "mustard": (), "teal": (),
    "lavender": (), "wine": ("burgundy",),
})

# Colours that are also materials or finishes: trusted only when a "colour:" key names them.
COLOUR_KEY_ONLY: frozenset[str] = frozenset({"silver", "gold", "copper", "bronze", "chrome", "transparent", "tan",
                                             "multicolor", "wine", "olive", "peach", "cream", "ivory", "rose gold"})
# Words right after a colour word that make it something else ("gold plated", "white board").
COLOUR_BLOCKERS: tuple[str, ...] = (
    "plated", "finish", "tone", "toned", "purity", "board", "pepper", "tea", "gold", "label", "wine", "noise",
    "chocolate", "sugar", "rice", "collar", "belt", "hat", "cross", "diamond", "house", "star",
)

MATERIAL_ALIASES = _table({
    "cotton": ("100% cotton", "pure cotton", "cotton blend"), "polyester": ("poly",), "leather": ("genuine leather",),
    "synthetic leather": ("pu leather", "faux leather", "leatherette", "pu"), "synthetic": (), "wool": ("woollen", "woolen"),
    "silk": (), "denim": (), "linen": (), "nylon": (), "rayon": (), "viscose": (), "plastic": ("abs",),
    "wood": ("wooden", "solid wood", "mdf", "engineered wood"), "metal": (), "stainless steel": ("stainless",),
    "steel": (), "aluminium": ("aluminum",), "brass": (), "glass": (), "ceramic": (), "porcelain": (),
    "rubber": (), "silicone": (), "canvas": (), "paper": (), "cardboard": ("card",), "foam": ("eva foam",),
    "velvet": (), "satin": (), "chiffon": (), "georgette": (), "crepe": (), "lycra": ("spandex", "elastane"),
    "acrylic": (), "bamboo": (), "iron": ("cast iron",), "alloy": ("zinc alloy",), "suede": (), "jute": (),
    "sterling silver": ("925 silver",), "crystal": (), "vinyl": ("pvc",), "fabric": (), "mesh": (), "fleece": (),
    "resin": (), "marble": (), "stone": (), "brass plated": (), "plush": (), "copper": (), "concrete": (),
    "fiberglass": ("fibreglass",),
})

# Material words trusted in a title without a "material:" key (the rest need a key or "made of").
MATERIAL_TITLE_OK: frozenset[str] = frozenset({
    "cotton", "polyester", "leather", "wool", "silk", "denim", "linen", "nylon", "rayon", "viscose", "wood",
    "stainless steel", "aluminium", "brass", "ceramic", "porcelain", "silicone", "canvas", "velvet", "satin",
    "chiffon", "georgette", "crepe", "bamboo", "suede", "jute", "sterling silver", "fleece", "plush", "vinyl",
    "fiberglass", "synthetic leather", "resin", "marble", "concrete", "acrylic",
})

GENDER_ALIASES = _table({
    "women": ("woman", "womens", "women's", "womans", "ladies", "lady", "female", "girls & women"),
    "men": ("man", "mens", "men's", "gents", "male", "boys & men"),
    "girls": ("girl", "girl's", "girls'", "girls's"),
    "boys": ("boy", "boy's", "boys'"),
    "baby": ("babies", "baby's", "infant", "infants", "newborn", "new born", "toddler", "toddlers",
             "baby boy's", "baby girl's", "baby boys", "baby girls", "baby boy", "baby girl"),
    "kids": ("kid", "kid's", "kids'", "children", "children's", "child", "childrens", "junior"),
    "unisex": ("men & women", "men and women", "women & men", "boys & girls", "boys and girls", "girls & boys"),
})
# "unisex" surface forms win over the single genders they contain.
GENDER_PRIORITY: tuple[str, ...] = ("unisex", "baby", "girls", "boys", "kids", "women", "men")

GARMENT_SIZES = _table({
    "xxs": (), "xs": ("extra small",), "s": ("small",), "m": ("medium",), "l": ("large",), "xl": ("extra large",),
    "xxl": ("2xl",), "xxxl": ("3xl",), "free size": ("free", "one size"),
})

# Units of dimensions and capacities that count as a size; weights (g, kg, lb) do not.
SIZE_UNITS = _table({
    "in": ("in.", "inch", "inches", '"', "''"), "ft": ("ft.", "feet", "foot"), "cm": (), "mm": (),
    "m": ("metre", "meter", "metres", "meters"), "ml": (), "l": ("litre", "liter", "litres", "liters", "ltr"),
    "gal": ("gal.", "gallon", "gallons"), "cu ft": ("cu. ft.", "cu. ft", "cu ft."), "qt": ("qt.", "quart"),
})

# Brand values that name no brand.
NOT_BRANDS: frozenset[str] = frozenset({
    "generic", "unbranded", "unknown", "na", "n/a", "none", "other", "others", "no brand", "nobrand", "brand",
    "the", "a", "new", "set", "pack", "kit", "toy", "toys", "home", "unisex", "women", "men", "kids",
})

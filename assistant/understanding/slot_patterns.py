"""The regular expressions and word lists behind :mod:`assistant.understanding.slots` (data, not logic).

Everything here is immutable (compiled patterns, tuples, frozensets, read-only dict literals used as
tables). Patterns run on the lower-cased message; each returns named groups documented beside it.
"""
from __future__ import annotations

import re

_CUR_PRE = r"(?:us\$|\$|£|€|₹|rs\.?|inr|usd|gbp|eur)"
_CUR_POST = r"(?:dollars?|usd|bucks|pounds?|quid|gbp|euros?|eur|€|\$|£|rupees?|rs\.?|inr|₹|/-)"
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?\s?k?"
_NOT_UNIT = r"(?!\s*(?:years?|yrs?|yo\b|months?|kg|g\b|cm|mm|m\b|inch|inches|in\b|ml|l\b|gb|tb|pieces?|pcs|pairs?|%|x\b))"
_AMOUNT = rf"(?:{_CUR_PRE}\s?)?{_NUM}(?:\s?{_CUR_POST})?"


def _amount(name: str, need_currency: bool = False) -> str:
    if need_currency:
        return (rf"(?P<{name}>(?:{_CUR_PRE}\s?{_NUM}(?:\s?{_CUR_POST})?|{_NUM}\s?{_CUR_POST})){_NOT_UNIT}")
    return rf"(?P<{name}>{_AMOUNT}){_NOT_UNIT}"


_MAX = (r"under|below|beneath|less than|lesser than|cheaper than|lower than|max(?:imum)?|at most|up ?to|"
        r"no more than|not more than|within|budget(?: is| of)?|<=?|≤|not over|not above|till|upto|max budget")
_MIN = r"over|above|more than|at least|min(?:imum)?|starting at|starting from|>=?|≥|upwards of|not less than"
_AROUND = r"around|about|approx(?:imately)?|roughly|~|close to|near"

# (kind, pattern); groups "a" (and "b" for ranges). Order matters: ranges first.
PRICE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("range", re.compile(rf"\b(?:between|from)\s+{_amount('a')}\s*(?:and|to|-|–)\s*{_amount('b')}")),
    ("range", re.compile(rf"(?<![\w#]){_amount('a', True)}\s*(?:-|–|to)\s*{_amount('b')}")),
    ("range", re.compile(rf"(?<![\w#])(?P<a>{_NUM})\s*(?:-|–|to)\s*{_amount('b', True)}")),
    ("range", re.compile(rf"\b(?:price range|range)\s*(?:of|:)?\s*{_amount('a')}\s*(?:-|–|to)\s*{_amount('b')}")),
    ("max", re.compile(rf"(?:\b|(?<=\s)|^)(?:{_MAX})\s*(?:of\s+|than\s+)?{_amount('a')}")),
    ("min", re.compile(rf"(?:\b|(?<=\s)|^)(?:{_MIN})\s*{_amount('a')}")),
    ("around", re.compile(rf"(?:\b|(?<=\s)|^)(?:{_AROUND})\s*{_amount('a', True)}")),
    ("max", re.compile(rf"(?<![\w#]){_amount('a', True)}")),
    ("max", re.compile(r"(?:\b(?:under|below|less than|within|max|up to)\s+)(?:a\s+)?(?P<a>tenner|fiver|twenty quid)\b")),
)

_CURRENCIES = (("INR", r"₹|\brs\b|\brs\.|\binr\b|rupee"), ("GBP", r"£|\bgbp\b|pound|quid|tenner|fiver"),
               ("EUR", r"€|\beur\b|euro"), ("USD", r"\$|\busd\b|dollar|bucks"))


def currency_of(text: str) -> str | None:
    """ISO code named in a price phrase ("₹500" -> "INR", "20 quid" -> "GBP"), else None."""
    for code, pattern in _CURRENCIES:
        if re.search(pattern, text):
            return code
    return None


def parse_amount(raw: str | None) -> float | None:
    """"₹1,299" -> 1299.0, "2k" -> 2000.0, "$49.99" -> 49.99; None when there is no number."""
    if not raw:
        return None
    slang = {"tenner": 10.0, "fiver": 5.0, "twenty quid": 20.0}
    if raw.strip() in slang:
        return slang[raw.strip()]
    m = re.search(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s?(k?)", raw)
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    return value * 1000 if m.group(2) else value


# group "id"
ORDER_ID = re.compile(
    r"(?:(?:\border(?:\s+(?:id|number|no\.?|#))?|\bpurchase(?:\s+(?:id|number|no\.?))?|\binvoice(?:\s+(?:id|number))?"
    r"|\btracking(?:\s+(?:id|number))?|#)\s*[:#]?\s*)?(?P<id>(?:[a-z]{2,4}-?)?\d[\d\-]{5,}\w*|[a-z]{2,4}-?\d{3,}\w*)"
    r"(?![\w.,]\d)"
)
# group "named" or "id": a shorter number the message names as an order ("my order 12345", "order #4821",
# "order no. 512"); "to order 10000 balloons" is a quantity
NAMED_ORDER_ID = re.compile(
    r"\b(?:order|purchase|invoice)\s*(?:id|number|no\.?|#)\s*[:#]?\s*(?P<named>\d{3,})(?![\w.,]\d)"
    r"|(?:^|\b(?:my|the|this|that|our|your|same|an?)\s+(?:[a-z]+\s+)?)(?:order|purchase)\s+(?P<id>\d{4,})(?![\w.,]\d)"
)

# group "size"
SIZE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bsize\s*(?:is\s*|of\s*|:\s*)?(?P<size>(?:uk|us|eu|in)\s?\d{1,2}(?:\.5)?|\d{1,2}(?:\.5)?|"
               r"xxs|xs|xxxl|xxl|xl|2xl|3xl|s|m|l|small|medium|large|extra large|free size)\b"),
    re.compile(r"\b(?P<size>(?:uk|us|eu)\s?\d{1,2}(?:\.5)?)\b"),
    re.compile(r"\b(?P<size>xxs|xs|xxxl|xxl|xl|2xl|3xl|extra large|extra small|free size)\b"),
    re.compile(r"\b(?P<size>small|medium|large|\d{1,2}(?:\.5)?)\s+size\b"),
    re.compile(r"\bin\s+(?:a\s+)?(?P<size>small|medium|large|s|m|l)\b(?!\s*[a-z])"),
    re.compile(r"\b(?P<size>\d{2})\s*(?:waist|inch waist)\b"),
)

# group "t": the negated words (up to three)
NEGATION = re.compile(
    r"(?:\bnot\b|\bno\b|\bwithout\b|\bexcept\b|\bexcluding\b|\bexclude\b|\banything but\b|\bother than\b|\bavoid\b|"
    r"\bdon'?t want\b|\bdo not want\b|\bdon'?t like\b|\bhate\b|\bnothing\b|\bnone of\b|\bno more\b|\bminus\b|"
    r"\bexcept for\b|\bnot from\b)\s+(?:any\s+|the\s+|a\s+|an\s+)?(?P<t>[a-z][a-z0-9'&\-]*(?:\s+[a-z][a-z0-9'&\-]*){0,2})"
)

SORTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("price_asc", re.compile(r"\b(?:cheapest|least expensive|lowest[- ]priced?|lowest price|price:? low to high|"
                             r"low to high|cheapest first|sort by price|lowest cost)\b")),
    ("price_desc", re.compile(r"\b(?:most expensive|priciest|highest[- ]priced?|price:? high to low|high to low|"
                              r"costliest|most premium)\b")),
    ("rating", re.compile(r"\b(?:best[- ]rated|top[- ]rated|highest[- ]rated|best[- ]reviewed|highly[- ]rated|"
                          r"best reviews|best ratings|top reviewed|well[- ]reviewed|sort by rating|"
                          r"highest ratings?|best rating)\b")),
    ("popularity", re.compile(r"\b(?:most popular|best[- ]?sell(?:ing|ers?)|bestsell(?:ing|ers?)|trending|"
                              r"most bought)\b")),
    ("newest", re.compile(r"\b(?:newest|latest|new arrivals|most recent)\b")),
)

CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cheaper", re.compile(r"\b(?:cheaper|less expensive|more affordable|lower price[ds]?|too (?:expensive|pricey|"
                           r"costly|much)|bit less|budget friendly|cheap(?:er)? ones?|something cheap)\b")),
    ("pricier", re.compile(r"\b(?:pricier|more expensive|higher[- ]end|more premium|fancier|costlier)\b")),
    ("more", re.compile(r"\b(?:show (?:me )?more|more (?:options|results|of (?:these|those|them))|next page|see more|"
                        r"other options|any ?thing else|what else|load more|more like (?:this|these|that)|"
                        r"show (?:me )?(?:the )?next|more please|others\?)")),
    ("other_brand", re.compile(r"\b(?:different brand|another brand|other brands?|not (?:that|this|the same) "
                               r"(?:brand|make)|some other brand|a different make)\b")),
    ("reset", re.compile(r"\b(?:start (?:over|again)|new search|forget (?:that|it|those|about)|never ?mind|"
                         r"something (?:else|different) entirely|clear (?:filters|everything)|reset)\b")),
    ("compare", re.compile(r"\b(?:compare|comparison|vs\.?|versus|difference between|which (?:one )?is better|"
                           r"which should i|better option|how do they differ|side by side)\b")),
)

# 1-based references to the last shown list
ORDINALS = re.compile(
    r"\b(?:the\s+)?(?:(?:first|top)\s+(?:two|three|2|3)|both(?: of them)?|(?:these|those|the) two|"
    r"(?:first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)(?:\s+(?:one|and\s+(?:the\s+)?"
    r"(?:first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)(?:\s+one)?|item|option|pair|product|watch))?"
    r"|(?:#|number |no\. ?|option |item )\d)\b"
)

NUMBER_WORDS: dict[str, int] = {"one": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2, "pair": 2}

# Who it is for, by age (group "n", "unit"): "for my 4 year old", "a 6-year-old", "18 months old", "aged 7"
_AGE_NUMBER = r"(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)"
AGE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\b{_AGE_NUMBER}\s*-?\s*(?P<unit>years?|yrs?|months?)\s*-?\s*olds?\b"),
    re.compile(rf"\b(?:aged|ages?)\s+{_AGE_NUMBER}\b(?:\s*\+)?(?:\s*(?P<unit>years?|yrs?|months?))?"),
)
AGE_NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split())}

# group "n"
QUANTITY = re.compile(
    r"\b(?:qty|quantity)?\s*:?\s*(?P<n>\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|couple)\s+(?:of\s+)?"
    r"(?:pairs?|units?|packs|sets|boxes|of (?:these|those|them)|copies)\b"
)

STOPWORDS: frozenset[str] = frozenset("""
a an the and or but of for to in on at by with from into about as is are was were be been being am it its
this that these those them they their there here i i'm im me my mine we our you your u ur he she his her
show shows showing find finding search searching look looking see get getting got buy buying purchase want wanted
wanna need needs needed would like could can may might should will shall do does did have has having please pls
plz some any something anything thing things one ones stuff item items product products options option also just
only really very quite too so maybe perhaps hi hello hey thanks thank ok okay yes yeah no not nope sure well what
which who how when where why whats what's let let's lets give tell help price priced prices cost costs costing
budget range around under over below above than less more most much many same other another else again now then
instead actually still kind sort type good nice great cool lovely best better available stock got go going
something's pair pairs under-priced cheap cheaper expensive affordable new use used using im i'd i'll i've
don't dont doesn't isn't is'nt any ever each all every either own if currently today check tho though
they're it's that's there's you're we're i'll you'll he's she's isn't aren't won't can't
hmm hmmm um uh oh ah okay alright cool awesome perfect fine gonna gotta lol plus within max min mean
""".split())

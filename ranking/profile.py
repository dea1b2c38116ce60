"""A readable shopper profile derived from their events: what they buy, which brands, what they spend.

The profile is shown to the shopper (and deleted with their data: it is computed on the fly from
the events, never stored), used in explanations ("you often buy LEGO") and as recommender context.

Example::

    profile = build_profile(user, events.history(user, 200), store.get_products(ids))
    profile.summary()   # 'you often buy LEGO; mostly Toys > Building Sets; usually £10–30; recently: ...'
    profile.to_dict()   # the structured fields
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from catalog.records import Event, Product
from ranking.context import event_weight

CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "INR": "₹", "JPY": "¥"}


@dataclass
class UserProfile:
    """Structured profile of one (pseudonymised) shopper.

    Attributes:
        user: the pseudonymised key, or None for a cold start.
        events: number of events considered.
        top_categories, top_brands: (name, weight) pairs, strongest first (purchases weigh most).
        price_band: (low, high) — the middle half of the prices of items they engaged with — or None.
        currency: the most common currency of those items, if known.
        recent_items: (item id, title) pairs, newest first.
        kinds: event counts by kind.
        not_interested: (item id, title) pairs the shopper marked "not interested", newest first.
    """

    user: str | None
    events: int = 0
    top_categories: list[tuple[str, float]] = field(default_factory=list)
    top_brands: list[tuple[str, float]] = field(default_factory=list)
    price_band: tuple[float, float] | None = None
    currency: str | None = None
    recent_items: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    not_interested: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_cold(self) -> bool:
        return not self.recent_items

    def summary(self) -> str:
        """One readable line, e.g. "you often buy LEGO; mostly Toys; usually £10–30; recently: ..."."""
        if self.is_cold:
            return "no shopping history yet"
        parts = []
        if self.top_brands:
            parts.append("you often buy " + " and ".join(b for b, _ in self.top_brands[:2]))
        if self.top_categories:
            parts.append("mostly " + ", ".join(c for c, _ in self.top_categories[:2]))
        if self.price_band:
            symbol = CURRENCY_SYMBOLS.get((self.currency or "").upper(), "")
            low, high = self.price_band
            parts.append(f"usually {symbol}{_money(low)}–{symbol}{_money(high)}" if high > low
                         else f"usually about {symbol}{_money(low)}")
        parts.append("recently: " + ", ".join(_short(t) for _, t in self.recent_items[:3]))
        return "; ".join(parts)

    def text(self) -> str:
        """Sentences for the shopper to read, e.g. "You often buy Thomas & Friends; usually £10–30. Recently
        you looked at: …. You told us you are not interested in: …." (what the recommender uses about them)."""
        if self.is_cold and not self.not_interested:
            return "We know nothing about your shopping yet: recommendations are what is popular."
        first = []
        if self.top_brands:
            first.append("You often buy " + " and ".join(b for b, _ in self.top_brands[:2]))
        if self.top_categories:
            first.append(("mostly " if first else "You mostly shop for ") + " and ".join(
                c for c, _ in self.top_categories[:2]))
        if self.price_band:
            symbol = CURRENCY_SYMBOLS.get((self.currency or "").upper(), "")
            low, high = self.price_band
            band = (f"usually {symbol}{_money(low)}–{symbol}{_money(high)}" if high > low
                    else f"usually about {symbol}{_money(low)}")
            first.append(band if first else band[0].upper() + band[1:])
        sentences = ["; ".join(first) + "."] if first else []
        if self.recent_items:
            sentences.append("Recently: " + ", ".join(_short(t) for _, t in self.recent_items[:3]) + ".")
        if self.not_interested:
            sentences.append("Not interested (never recommended again): "
                             + ", ".join(_short(t) for _, t in self.not_interested[:3]) + ".")
        return " ".join(sentences)

    def to_dict(self) -> dict:
        return asdict(self) | {"summary": self.summary(), "text": self.text()}


def _money(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2f}"


def _short(title: str, words: int = 6) -> str:
    cut = title.split()
    return " ".join(cut[:words]) + ("…" if len(cut) > words else "")


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    low, high = int(pos), min(int(pos) + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def build_profile(user: str | None, events: Sequence[Event], products: Mapping[str, Product],
                  top: int = 3, recent: int = 5) -> UserProfile:
    """Build a profile from ``events`` (oldest first) and the products they name.

    Items missing from ``products`` still count as recent items (shown by id) but add no brand,
    category or price. Negative events (``not_interested``, ratings below 3) are ignored.
    """
    profile = UserProfile(user=user, events=len(events), kinds=dict(Counter(e.kind for e in events)))
    brands: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    currencies: Counter[str] = Counter()
    prices: list[float] = []
    for event in events:
        weight = event_weight(event)  # purchase > add_to_cart > like > click > view; negatives 0
        if weight <= 0:
            continue
        product = products.get(event.item_id)
        if product is None:
            continue
        if product.brand:
            brands[product.brand] += weight
        if product.category:
            categories[" > ".join(product.category[:2])] += weight
        if product.price is not None:
            prices.append(product.price)
            if product.currency:
                currencies[product.currency] += 1
    seen: set[str] = set()
    for event in reversed(events):
        if event.kind == "not_interested" and event.item_id not in seen:
            product = products.get(event.item_id)
            profile.not_interested.append((event.item_id, product.title if product else event.item_id))
            seen.add(event.item_id)
    seen = set()
    for event in reversed(events):
        if event.item_id in seen or event.kind == "not_interested":
            continue
        seen.add(event.item_id)
        product = products.get(event.item_id)
        profile.recent_items.append((event.item_id, product.title if product else event.item_id))
        if len(profile.recent_items) >= recent:
            break
    profile.top_brands = [(b, round(w, 2)) for b, w in brands.most_common(top)]
    profile.top_categories = [(c, round(w, 2)) for c, w in categories.most_common(top)]
    if prices:
        prices.sort()
        profile.price_band = (round(_quantile(prices, 0.25), 2), round(_quantile(prices, 0.75), 2))
        profile.currency = currencies.most_common(1)[0][0] if currencies else None
    return profile

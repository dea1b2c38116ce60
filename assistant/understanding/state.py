"""Dialogue state: what the shopper wants *so far*, and what they were just shown.

One :class:`DialogueState` per session, serialised with :meth:`DialogueState.to_json` into the
``sessions.state`` column and read back with :meth:`DialogueState.from_json`. It is a value: the
pure function :func:`apply` returns a new state and never mutates its input, so two sessions can
never share one.

Per turn (the agent's loop)::

    request = understander.understand(message, state)
    state = apply(state, request)                  # merge slots, resolve "the second one", paging
    hits = search(state.search_query(), SearchFilters(**state.filter_kwargs()))
    state = remember_shown(state, products)        # ids, prices, brands of what the shopper now sees
    reply.slots = state.reply_slots(request)

Merging rules (shopping intents): "in blue" replaces the colour; "only adidas" replaces the brands;
"not Nike"/"no leather" add to the exclusions; "cheaper" caps the price below the median price
shown (or below the referenced product; 20 % below the old cap when nothing was shown), in the
shopper's currency (inferred from what was shown when they never said one); "pricier" sets the floor
at the median shown; "not that brand" excludes the brand of the
referenced product (else the brand asked for, else the first shown); "show more" pages
(already shown ids are excluded); "the second one" / "compare the first two" resolve to product ids
of the last list (``focus_ids``); a search for another category, or "start over", resets.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from assistant.understanding.intents import SHOPPING_INTENTS
from catalog.currency import convert
from assistant.understanding.focus import FILLER
from assistant.understanding.slots import Slots
from assistant.understanding.vocabulary import singular_phrase



class ShownProduct(BaseModel):
    """The facts about a shown product the state needs to resolve references."""

    id: str
    title: str = ""
    brand: str | None = None
    price: float | None = None
    currency: str | None = None


class DialogueState(BaseModel):
    """The per-session state. All fields are JSON-serialisable; defaults are an empty conversation."""

    slots: Slots = Field(default_factory=Slots)
    shown: list[ShownProduct] = Field(default_factory=list)  # the last list, in display order
    seen_ids: list[str] = Field(default_factory=list)  # everything shown for this topic (paging)
    focus_ids: list[str] = Field(default_factory=list)  # products the latest request refers to
    page: int = 0
    turn: int = 0
    last_intent: str | None = None
    topic_turns: int = 0  # turns since the current shopping topic started
    focus_label: str | None = None  # what the topic is about, in the shopper's words ("dinosaurs", "running shoes")
    focus_must: list[str] = Field(default_factory=list)  # stems a shown product must contain (relevance floor)
    focus_every: bool = False  # all of focus_must (a kind) rather than any (an interest)
    search_text: str | None = None  # a rewritten query for the topic (the LLM's), used instead of the keywords
    recent: list[str] = Field(default_factory=list)  # the shopper's last two (redacted) messages, for the LLM

    def to_json(self) -> str:
        """Compact JSON for the ``sessions.state`` column."""
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, text: str | None) -> DialogueState:
        """Parse a stored state; empty/None or unreadable text gives a fresh state (never raises)."""
        if not text:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValueError:
            return cls()

    def has_topic(self) -> bool:
        """True when a shopping search is in progress (something to refine)."""
        return bool(self.shown) or self.slots.has_product_signal() or bool(self.slots.keywords)

    def search_query(self) -> str:
        """The free-text query for retrieval built from the merged slots ("blue adidas running shoes"):
        the topic's rewritten text when there is one, and never the occasion or recipient words
        ("birthday present for my nephew who loves dinosaurs" searches "dinosaurs")."""
        s = self.slots
        words = [self.search_text] if self.search_text else [k for k in s.keywords if k not in FILLER]
        parts = [s.colour or "", *s.brands, *words, s.category or ""]
        return " ".join(p for p in parts if p).strip()

    def filter_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``retrieval.search.SearchFilters`` (tuples for lists)."""
        s = self.slots
        return {"price_min": s.price_min, "price_max": s.price_max, "currency": s.currency,
                "brands": tuple(s.brands), "brands_exclude": tuple(s.brands_exclude), "category": s.category,
                "colour": s.colour, "exclude_words": tuple(s.exclude_words), "age": s.age,
                "exclude_ids": tuple(self.seen_ids) if self.page > 0 else ()}

    def reply_slots(self, request: Any) -> dict[str, Any]:
        """The slots to report for this turn: merged ones for shopping, the message's own otherwise."""
        if request.intent in SHOPPING_INTENTS:
            merged = self.slots.filled()
            if request.slots.order_id:
                merged["order_id"] = request.slots.order_id
            if request.slots.quantity:
                merged["quantity"] = request.slots.quantity
            return merged
        return request.slots.filled()

    def referenced(self, refs: Sequence[int]) -> list[ShownProduct]:
        """Products of the last list for 1-based positions (-1 = the last); out-of-range ones skipped."""
        out = []
        for ref in refs:
            index = len(self.shown) - 1 if ref == -1 else ref - 1
            if 0 <= index < len(self.shown) and self.shown[index] not in out:
                out.append(self.shown[index])
        return out


def _is_new_topic(state: DialogueState, request: Any) -> bool:
    if "reset" in request.cues or "new_topic" in request.cues:  # "new_topic": another kind of product
        return True
    if request.intent != "search" or not state.has_topic():
        return request.intent == "search"
    new, old = request.slots.category, state.slots.category
    return bool(new and old and singular_phrase(new) != singular_phrase(old))


def _merge(old: Slots, new: Slots) -> Slots:
    merged = old.model_copy(deep=True)
    for name in ("category", "colour", "size", "price_min", "price_max", "currency", "sort", "quantity", "order_id",
                 "age"):
        value = getattr(new, name)
        if value is not None:
            setattr(merged, name, value)
    if new.brands:
        merged.brands = list(new.brands)
    for name in ("brands_exclude", "exclude_words", "keywords"):
        merged_list = getattr(merged, name)
        merged_list.extend(v for v in getattr(new, name) if v not in merged_list)
    merged.brands = [b for b in merged.brands if b not in merged.brands_exclude]
    if new.colour:  # "in blue" after "not blue": the newest wish wins
        merged.exclude_words = [w for w in merged.exclude_words if w != new.colour]
    if merged.colour and merged.colour in merged.exclude_words:
        merged.colour = None
    return merged


def _price_cues(state: DialogueState, slots: Slots, request: Any, anchor: list[ShownProduct]) -> None:
    shown = [p for p in (anchor or state.shown) if p.price]
    if shown and not slots.currency:  # the shopper's currency, inferred once from what they saw, then kept
        slots.currency = shown[0].currency
    prices = sorted(convert(p.price, p.currency, slots.currency) for p in shown)
    if prices and not anchor:  # "cheaper" = below the middle of the list, not below its cheapest item
        middle = prices[len(prices) // 2] if len(prices) % 2 else (prices[len(prices) // 2 - 1] + prices[len(prices) // 2]) / 2
        prices = [middle]
    if "cheaper" in request.cues and request.slots.price_max is None:
        if prices:
            slots.price_max = round(min(prices) - 0.01, 2) if min(prices) > 0.01 else 0.0
        elif slots.price_max is not None:
            slots.price_max = round(slots.price_max * 0.8, 2)
        if slots.price_min is not None and slots.price_max is not None and slots.price_min >= slots.price_max:
            slots.price_min = None
    if "pricier" in request.cues and request.slots.price_min is None and prices:
        slots.price_min = max(prices)
        if slots.price_max is not None and slots.price_max <= slots.price_min:
            slots.price_max = None


def _other_brand(state: DialogueState, slots: Slots, anchor: list[ShownProduct]) -> None:
    brands = [p.brand.lower() for p in anchor if p.brand] or list(slots.brands)
    if not brands and state.shown and state.shown[0].brand:
        brands = [state.shown[0].brand.lower()]
    for brand in brands:
        if brand not in slots.brands_exclude:
            slots.brands_exclude.append(brand)
    slots.brands = [b for b in slots.brands if b not in slots.brands_exclude]


def apply(state: DialogueState, request: Any, last_products: Sequence[Any] | None = None) -> DialogueState:
    """The state after ``request`` (a :class:`assistant.understanding.understand.Request`). Pure: ``state`` is unchanged.

    Args:
        state: the state before this turn.
        request: the understood message (intent, slots, cues, refs).
        last_products: what the shopper was shown last, if the caller has it fresher than
            ``state.shown`` (``Product``, ``ProductPick``, ``SearchHit``-like or :class:`ShownProduct`).
    """
    new = state.model_copy(deep=True)
    if last_products is not None:
        new.shown = [to_shown(p) for p in last_products]
    new.turn += 1
    new.recent = [*new.recent, (request.message or "")[:200]][-2:]
    anchor = new.referenced(request.refs)
    new.focus_ids = [p.id for p in anchor] or (new.focus_ids if request.intent == "product_question" else [])
    if request.intent not in SHOPPING_INTENTS:
        new.last_intent = request.intent
        return new
    if _is_new_topic(new, request):
        new.slots = request.slots.model_copy(deep=True)
        new.seen_ids, new.page, new.topic_turns = [], 0, 0
        new.focus_label, new.focus_must, new.focus_every, new.search_text = None, [], False, None
        if "reset" in request.cues and not request.slots.has_product_signal():
            new.shown = []
    elif request.intent in ("search", "refine", "recommend"):
        slots = _merge(new.slots, request.slots)
        _price_cues(new, slots, request, anchor)
        if "other_brand" in request.cues:
            _other_brand(new, slots, anchor)
        changed = slots != new.slots
        new.slots = slots
        if "more" in request.cues and not changed:
            new.page += 1
        elif changed:
            new.page, new.seen_ids = 0, []
    new.slots.order_id = None
    new.slots.quantity = request.slots.quantity or new.slots.quantity
    new.topic_turns += 1
    new.last_intent = request.intent
    return new


def to_shown(product: Any) -> ShownProduct:
    """Convert a Product / ProductPick / SearchHit / RankedItem / dict into a :class:`ShownProduct`."""
    if isinstance(product, ShownProduct):
        return product
    if isinstance(product, dict):
        return ShownProduct(**{k: product.get(k) for k in ("id", "title", "brand", "price", "currency")
                               if product.get(k) is not None})
    inner = getattr(product, "product", product)
    return ShownProduct(id=str(inner.id), title=getattr(inner, "title", "") or "", brand=getattr(inner, "brand", None),
                        price=getattr(inner, "price", None), currency=getattr(inner, "currency", None))


def remember_shown(state: DialogueState, products: Sequence[Any]) -> DialogueState:
    """The state after showing ``products`` (in display order): sets ``shown`` and extends ``seen_ids``."""
    new = state.model_copy(deep=True)
    if not products:
        return new
    new.shown = [to_shown(p) for p in products]
    new.seen_ids.extend(p.id for p in new.shown if p.id not in new.seen_ids)
    return new

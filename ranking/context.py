"""The ONE user-context builder, used by training, evaluation and serving alike.

A shopper's context is built from their positive events (oldest first) and, when there is one, the
query of this turn::

    ctx = build_user_context("red shoes", items, weights, text_of, settings)
    ctx.text      # "query: red shoes | <newest chosen item> ; <older> ; ..."  (ranking.encoder.context_text)
    ctx.items     # the chosen items, chronological (the history mix of ranking.heads uses them)
    ctx.weights   # their event-kind weights

Which items make it into the context: at most ``settings.context_items``, chosen by
``kind weight x RECENCY_DECAY ** age`` (age 0 = newest), then written newest first. With equal
weights (behaviour files: every entry is a purchase/review) this is exactly "the newest N items";
with shop events a purchase outlasts a few later views. Training builds its examples through this
function (with a pseudo-query for a share of them, see ``ranking.train``), so the tower is trained
on the very text it is served.

Event weights by kind (purchase > add_to_cart > like > click > view; a rating counts from 3 stars,
scaled by its value; ``not_interested`` is a negative, never context).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from catalog.records import Event
from ranking.encoder import context_text

EVENT_WEIGHTS: dict[str, float] = {"purchase": 1.0, "add_to_cart": 0.8, "like": 0.6, "rating": 0.6,
                                   "click": 0.4, "view": 0.2}
NEGATIVE_KINDS = frozenset({"not_interested"})
RECENCY_DECAY = 0.85


def event_weight(event: Event) -> float:
    """Weight of one event as a positive signal (0 for negatives and ratings below 3 stars)."""
    if event.kind in NEGATIVE_KINDS:
        return 0.0
    if event.kind == "rating":
        value = float(event.value or 0)
        return 0.0 if value < 3 else EVENT_WEIGHTS["rating"] * value / 5.0
    return EVENT_WEIGHTS.get(event.kind, 0.2)


def weighted_history(events: Iterable[Event]) -> tuple[list[str], list[float]]:
    """Positive items (chronological, each item once at its latest position) and their strongest weight."""
    latest: dict[str, int] = {}
    weight: dict[str, float] = {}
    for n, event in enumerate(events):
        w = event_weight(event)
        if w <= 0:
            continue
        latest[event.item_id] = n
        weight[event.item_id] = max(weight.get(event.item_id, 0.0), w)
    items = sorted(latest, key=latest.get)
    return items, [weight[i] for i in items]


def negative_items(events: Iterable[Event]) -> list[str]:
    """Items the shopper marked ``not_interested`` (and did not engage with positively afterwards)."""
    out: dict[str, bool] = {}
    for event in events:
        if event.kind in NEGATIVE_KINDS:
            out[event.item_id] = True
        elif event_weight(event) > 0 and event.item_id in out:
            out[event.item_id] = False
    return [i for i, neg in out.items() if neg]


def select_recent(weights: Sequence[float], n: int, decay: float = RECENCY_DECAY) -> list[int]:
    """Positions (chronological) of the ``n`` items with the highest ``weight x decay ** age``."""
    count = len(weights)
    if count <= n:
        return list(range(count))
    score = [(weights[p] * decay ** (count - 1 - p), p) for p in range(count)]
    chosen = sorted(score, key=lambda s: (-s[0], -s[1]))[:n]
    return sorted(p for _, p in chosen)


@dataclass
class UserContext:
    """What the user tower reads (``text``) and which items the history mix averages."""

    text: str
    items: list = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def build_user_context(query: str | None, items: Sequence, weights: Sequence[float] | None,
                       text_of: Callable[[object], str], settings) -> UserContext:
    """The context for a query (or None) and a chronological history.

    Args:
        query: this turn's query, or None (``recommend`` and the behaviour-file examples).
        items: history item keys (ids or indices), oldest first.
        weights: one weight per item (None: all 1.0).
        text_of: item key -> item text (catalogue text in serving, ITEMS text in training).
        settings: a :class:`ranking.checkpoint.ContextSettings` (``context_items``, ``words_per_item``).
    """
    weights = list(weights) if weights is not None else [1.0] * len(items)
    keep = select_recent(weights, settings.context_items)
    chosen = [items[p] for p in keep]
    text = context_text(query, [text_of(i) for i in chosen], settings.words_per_item, settings.context_items)
    return UserContext(text, chosen, [weights[p] for p in keep])

"""``shopassist train ranker --from-events``: learn from the shop's own event store.

The training data is the event store itself (the demo shoppers' histories, what visitors click, cart,
buy and like), over the shop's own catalogue (item text = what serving embeds, ``product_text``):

- **time-based split**: every event before the cutoff (the ``1 - valid_share`` quantile of the
  positive events' timestamps) is training; for each shopper with history before the cutoff, the
  first *new* item they engaged with after it is a validation target. No future event is trained on.
- **weighted**: a history entry carries its event-kind weight (``ranking.context.EVENT_WEIGHTS``:
  purchase 1.0 > add_to_cart 0.8 > like 0.6 > click 0.4 > view 0.2) in the context choice, the history
  mix and the loss (an example counts as much as its target's weight).
- **not interested**: items a shopper marked ``not_interested`` are extra-hard negatives of every
  example of that shopper (``TrainConfig.negative_margin``).

The version is written to the served model folder and marked ``good`` only if the fine-tuned encoder
beats the untrained one on the validation targets; a running server's ``Ranker`` then switches to it
without a restart (``Ranker.reload``). Few shoppers = a noisy check: the command prints the counts.

Example::

    ckpt = train_from_events(settings, store, TrainConfig(epochs=3))
    ckpt.meta["status"], ckpt.meta["validation"]
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from catalog import schema
from catalog.records import Event
from catalog.store import Store
from ranking.checkpoint import Checkpoint
from ranking.context import event_weight, negative_items, weighted_history
from ranking.item_cache import product_text
from ranking.train import TrainConfig, ValidationSet


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def event_data(store: Store, valid_share: float = 0.2):
    """(ids, texts, train sequences, train weights, negatives, validation set, cutoff) from the store."""
    products = list(store.iter_products())
    ids = [p.id for p in products]
    texts = [product_text(p) for p in products]
    index = {item: n for n, item in enumerate(ids)}
    table = schema.events
    with store.engine.connect() as conn:
        rows = list(conn.execute(select(table).order_by(table.c.ts, table.c.id)).mappings())
    by_user = defaultdict(list)
    for row in rows:
        event = Event(user=row["user"], item_id=row["item_id"], kind=row["kind"], value=row["value"],
                      ts=_aware(row["ts"]))
        if event.item_id in index:
            by_user[event.user].append(event)
    stamps = sorted(_aware(e.ts) for evs in by_user.values() for e in evs if event_weight(e) > 0)
    if len(stamps) < 4:
        raise ValueError(f"the event store holds {len(stamps)} positive events on catalogue items: too few to train on "
                         "(load the demo shoppers with `shopassist demo --no-serve` or import events)")
    cutoff = stamps[min(len(stamps) - 1, int(len(stamps) * (1 - valid_share)))]
    train, train_w, negatives = {}, {}, {}
    histories, targets, valid_w = [], [], []
    for user, events in by_user.items():
        before = [e for e in events if _aware(e.ts) < cutoff]
        after = [e for e in events if _aware(e.ts) >= cutoff and event_weight(e) > 0]
        items, weights = weighted_history(before)
        negs = negative_items(before)
        if len(items) >= 2:
            train[user], train_w[user] = items, weights
            if negs:
                negatives[user] = negs
        new = [e.item_id for e in after if e.item_id not in set(items)]
        if items and new:
            histories.append([index[i] for i in items])
            valid_w.append(weights)
            targets.append(index[new[0]])
    return ids, texts, train, train_w, negatives, ValidationSet(histories, targets, valid_w), cutoff


def train_from_events(store: Store, out_root: Path, config: TrainConfig | None = None, valid_share: float = 0.2,
                      progress: bool = True, echo: Callable[[str], None] = print) -> Checkpoint:
    """Train a version on the event store (see the module docstring) into ``out_root``; returns it."""
    from ranking.pipeline import train_on

    config = config or TrainConfig(epochs=3)
    ids, texts, train, train_w, negatives, valid, cutoff = event_data(store, valid_share)
    echo(f"event store: {len(ids):,} catalogue items, {len(train):,} shoppers with >= 2 items before "
         f"{cutoff.isoformat()} (training), {len(valid.targets):,} validation targets after it, "
         f"{sum(len(v) for v in negatives.values())} not-interested negatives")
    if not valid.targets:
        raise ValueError("no shopper has a new item after the time cutoff: nothing to validate on; "
                         "collect more events or raise --valid-share")
    split = {"kind": "time", "cutoff": cutoff.isoformat(), "valid_share": valid_share, "train": [], "valid": []}
    info = {"source": "event store", "n_items": len(ids), "train_users": len(train),
            "valid_targets": len(valid.targets), "cutoff": cutoff.isoformat(),
            "negatives": sum(len(v) for v in negatives.values())}
    return train_on(ids, texts, train, valid, out_root, config, split, info, train_weights=train_w,
                    negatives=negatives, require_improvement=True, progress=progress, echo=echo)

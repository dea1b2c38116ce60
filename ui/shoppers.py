"""Demo shoppers: synthetic people with short histories over the demo catalog.

``data/demo/shoppers.json`` holds ``{"synthetic": true, "shoppers": [{"id", "name", "about",
"history": [{"item_id", "kind", "days_ago"}]}]}``. The page offers them in its shopper picker;
``shopassist demo`` loads their histories into the event store once (see :func:`load_histories`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_SHOPPERS_PATH = Path(__file__).resolve().parents[1] / "data" / "demo" / "shoppers.json"


@dataclass(frozen=True)
class DemoShopper:
    """One synthetic shopper. ``id`` is the raw user id the UI passes to the assistant."""

    id: str
    name: str
    about: str
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.name} — {self.about}"


def load_shoppers(path: Path | None = None) -> list[DemoShopper]:
    """The demo shoppers, or an empty list when the file does not exist."""
    path = path or DEFAULT_SHOPPERS_PATH
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [DemoShopper(id=s["id"], name=s["name"], about=s.get("about", ""),
                        history=tuple(s.get("history", []))) for s in data.get("shoppers", [])]


def load_histories(settings: Any, shoppers: list[DemoShopper], store: Any = None) -> dict[str, int]:
    """Write each shopper's history into the event store once; shoppers with a history are skipped.

    Returns how many events were added per shopper id. Items not in the catalog are skipped.
    """
    from catalog.events import EventStore
    from catalog.privacy import pseudonymise
    from catalog.records import Event
    from catalog.store import Store

    store = store or Store.from_settings(settings)
    events = EventStore(store)
    known = store.get_products([h["item_id"] for s in shoppers for h in s.history])
    now = datetime.now(timezone.utc)
    added: dict[str, int] = {}
    for shopper in shoppers:
        user = pseudonymise(shopper.id, settings.user_id_key)
        if events.history(user, limit=1):
            added[shopper.id] = 0
            continue
        batch = [Event(user=user, item_id=h["item_id"], kind=h.get("kind", "purchase"), value=h.get("value"),
                       session_id="demo-history", ts=now - timedelta(days=float(h.get("days_ago", 1))))
                 for h in shopper.history if h["item_id"] in known]
        events.add_many(batch)
        added[shopper.id] = len(batch)
    return added

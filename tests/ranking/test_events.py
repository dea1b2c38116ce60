"""The event store: one-at-a-time and bulk writes, chronological history, deletion, pseudonymised ids."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from catalog import schema
from catalog.events import EventStore
from catalog.privacy import pseudonymise
from catalog.records import Event


def test_history_is_chronological_and_limited(store):
    events = EventStore(store)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    events.add_many(Event(user="u_a", item_id=f"I{n}", kind="view", ts=t0 + timedelta(minutes=n)) for n in range(5))
    events.add(Event(user="u_b", item_id="X", kind="purchase", ts=t0))
    assert [e.item_id for e in events.history("u_a", limit=3)] == ["I2", "I3", "I4"]
    assert events.history(None) == []
    assert events.item_counts()["X"] == 1
    assert events.delete_user("u_a") == 5 and events.history("u_a") == [] and events.count() == 1


def test_item_history_skips_negative_events(store):
    events = EventStore(store)
    events.add(Event(user="u", item_id="A", kind="click"))
    events.add(Event(user="u", item_id="B", kind="not_interested"))
    events.add(Event(user="u", item_id="C", kind="rating", value=1))
    assert events.item_history("u") == ["A"]


def test_unknown_kind_is_rejected_with_the_valid_ones(store):
    with pytest.raises(ValueError):
        EventStore(store).add(Event.model_construct(user="u", item_id="A", kind="teleport", value=None,
                                                    session_id=None, query=None, ts=datetime.now(timezone.utc)))


def test_bulk_import_pseudonymises_and_keeps_order(store, settings, tiny_data):
    events = EventStore(store)
    report = events.import_sequences(tiny_data["vg_sequences"], settings.user_id_key)
    assert report.users == 40 and report.events == 160 and report.skipped_rows == 0
    with store.engine.connect() as conn:
        stored_users = {row[0] for row in conn.execute(select(schema.events.c.user))}
    assert "user001" not in stored_users
    key = pseudonymise("user001", settings.user_id_key)
    assert key in stored_users
    assert events.item_history(key) == ["M2", "M3", "M4", "M5"]

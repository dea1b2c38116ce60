"""Behaviour events (view, click, add_to_cart, purchase, rating, ...) in the SQL store.

Events are written one at a time (the API: a shopper clicked something) or in bulk (a sequence
file). ``Event.user`` is always the *pseudonymised* key (``catalog.privacy.pseudonymise``): the bulk
loader pseudonymises raw ids itself, at the boundary, so raw ids are never stored or logged.

Reads are fresh on every call (no cache), so an event written a moment ago is in the next
``history`` — this is what lets the ranker react at once.

Example::

    store = Store("sqlite:///var/shopassist.db")
    events = EventStore(store)
    events.add(Event(user=pseudonymise("alice", key), item_id="B000123", kind="click"))
    [e.item_id for e in events.history(pseudonymise("alice", key), limit=20)]   # ['B000123']
    events.delete_user(pseudonymise("alice", key))                             # 1 row removed
"""
from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from catalog import schema
from catalog.privacy import pseudonymise
from catalog.records import EVENT_KINDS, Event
from catalog.store import Store

USER_COLUMNS = ("user_id", "user", "reviewer_id", "reviewerID")
SEQUENCE_COLUMNS = ("asins", "item_ids", "items", "sequence", "history")
NEGATIVE_KINDS = frozenset({"not_interested"})


@dataclass
class ImportReport:
    """Result of a bulk import: users and events written, rows skipped (with reasons)."""

    users: int = 0
    events: int = 0
    skipped_rows: int = 0
    problems: list[str] = field(default_factory=list)


class EventStore:
    """Events of every shopper, in the ``events`` table of a :class:`catalog.store.Store`.

    Args:
        store: the catalog store (its SQLAlchemy engine is used; SQLite or PostgreSQL).
    """

    def __init__(self, store: Store):
        self.store = store
        self.engine = store.engine

    # -- writing ---------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """Store one event (already pseudonymised)."""
        self.add_many([event])

    def add_many(self, events: Iterable[Event], chunk: int = 5000) -> int:
        """Store many events in chunks of ``chunk`` rows per transaction; returns how many were written."""
        written, rows = 0, []
        with self.engine.begin() as conn:
            for event in events:
                if event.kind not in EVENT_KINDS:
                    raise ValueError(f"unknown event kind {event.kind!r}; use one of {', '.join(EVENT_KINDS)}")
                rows.append({"user": event.user, "item_id": event.item_id, "kind": event.kind,
                             "value": event.value, "session_id": event.session_id, "query": event.query,
                             "ts": event.ts})
                if len(rows) >= chunk:
                    conn.execute(insert(schema.events), rows)
                    written, rows = written + len(rows), []
            if rows:
                conn.execute(insert(schema.events), rows)
                written += len(rows)
        return written

    def delete_user(self, user: str) -> int:
        """Delete every event of ``user`` (the right to be forgotten); returns the rows removed."""
        with self.engine.begin() as conn:
            return conn.execute(delete(schema.events).where(schema.events.c.user == user)).rowcount

    # -- reading ---------------------------------------------------------------------------
    def history(self, user: str | None, limit: int = 50, kinds: Iterable[str] | None = None) -> list[Event]:
        """The newest ``limit`` events of ``user``, returned oldest first (chronological); [] for None."""
        if not user:
            return []
        table = schema.events
        query = select(table).where(table.c.user == user)
        if kinds is not None:
            query = query.where(table.c.kind.in_(list(kinds)))
        query = query.order_by(table.c.ts.desc(), table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        return [_row_event(row) for row in reversed(rows)]

    def item_history(self, user: str | None, limit: int = 50) -> list[str]:
        """Item ids of the user's positive events, oldest first, consecutive repeats collapsed."""
        items: list[str] = []
        for event in self.history(user, limit):
            if event.kind in NEGATIVE_KINDS or (event.kind == "rating" and (event.value or 0) < 3):
                continue
            if not items or items[-1] != event.item_id:
                items.append(event.item_id)
        return items

    def item_counts(self) -> dict[str, int]:
        """How many events each item has (all users, all positive kinds): the popularity signal."""
        table = schema.events
        query = (select(table.c.item_id, func.count()).where(table.c.kind.not_in(list(NEGATIVE_KINDS)))
                 .group_by(table.c.item_id))
        with self.engine.connect() as conn:
            return {item: int(n) for item, n in conn.execute(query).all()}

    def count(self, user: str | None = None) -> int:
        """Number of stored events (of one user, or all)."""
        query = select(func.count()).select_from(schema.events)
        if user:
            query = query.where(schema.events.c.user == user)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- bulk import -----------------------------------------------------------------------
    def import_sequences(self, path: str | Path, key: str, kind: str = "purchase",
                         mapping: dict[str, str] | None = None) -> ImportReport:
        """Import a sequence file (CSV, optionally .gz: a user column and space-separated item ids).

        Raw user ids are pseudonymised with ``key`` before anything is stored. Each item becomes one
        ``kind`` event; the file has no timestamps, so events get increasing synthetic ones (one
        second apart, ending now) that keep the file's order. Rows without a user are skipped and
        reported, not fatal. Column names are auto-detected (``user_id``/``asins``/``item_ids``...);
        pass ``mapping={"user": COL, "items": COL}`` otherwise.
        """
        report = ImportReport()
        events = list(_sequence_events(Path(path), key, kind, mapping or {}, report))
        report.events = self.add_many(events)
        return report


def _row_event(row) -> Event:
    ts = row["ts"]
    if ts is not None and ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return Event(user=row["user"], item_id=row["item_id"], kind=row["kind"], value=row["value"],
                 session_id=row["session_id"], query=row["query"], ts=ts)


def _sequence_events(path: Path, key: str, kind: str, mapping: dict[str, str],
                     report: ImportReport) -> Iterator[Event]:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a CSV(.gz) with a user column and item ids")
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        user_col = _column(header, mapping.get("user"), USER_COLUMNS, "user", path)
        items_col = _column(header, mapping.get("items"), SEQUENCE_COLUMNS, "items", path)
        rows = list(reader)
    total = sum(len((row.get(items_col) or "").split()) for row in rows)
    clock = datetime.now(timezone.utc) - timedelta(seconds=total)
    for number, row in enumerate(rows, start=2):
        raw_user = (row.get(user_col) or "").strip()
        items = (row.get(items_col) or "").split()
        if not raw_user or not items:
            report.skipped_rows += 1
            if len(report.problems) < 10:
                report.problems.append(f"line {number}: no user or no items")
            continue
        user = pseudonymise(raw_user, key)
        report.users += 1
        for item in items:
            clock += timedelta(seconds=1)
            yield Event(user=user, item_id=item, kind=kind, ts=clock)


def _column(header: list[str], wanted: str | None, options: tuple[str, ...], role: str, path: Path) -> str:
    if wanted:
        if wanted not in header:
            raise ValueError(f"{path}: column {wanted!r} (for {role}) not found; columns are {header}")
        return wanted
    for name in options:
        if name in header:
            return name
    raise ValueError(f"{path}: no {role} column among {header}; pass a mapping {role}=COLUMN")

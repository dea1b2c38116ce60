"""SQL tables (SQLAlchemy Core). One metadata object; works on SQLite and PostgreSQL.

The database is created and upgraded by the Alembic migrations in ``catalog/migrations`` (run by
``catalog.migrate.migrate`` when a Store opens): a change here needs a new revision there.
"""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, text)

metadata = MetaData()

products = Table(
    "products", metadata,
    Column("id", String(200), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category", Text, nullable=False, default=""),  # "a > b > c"
    Column("category_source", String(16)),
    Column("brand", String(200)),
    Column("price", Float),
    Column("currency", String(8)),
    Column("rating", Float),
    Column("image_url", Text),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("content_hash", String(32), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user", String(64), nullable=False, index=True),  # pseudonymised
    Column("item_id", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("value", Float),
    Column("session_id", String(64)),
    Column("query", Text),
    Column("ts", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("user", String(64)),  # pseudonymised, optional
    Column("state", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # user | assistant | agent | system
    Column("content", Text, nullable=False),
    Column("payload", JSON),
    Column("ts", DateTime(timezone=True), nullable=False),
)

escalations = Table(
    "escalations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), nullable=False, index=True),
    Column("user", String(64)),
    Column("status", String(16), nullable=False, default="open"),  # open | assigned | resolved | returned
    Column("reason", String(64), nullable=False),
    Column("intent", String(64)),
    Column("sentiment", Float),
    Column("summary", Text, nullable=False, default=""),
    Column("transcript", JSON, nullable=False, default=list),
    Column("products", JSON, nullable=False, default=list),
    Column("order_id", String(64)),
    Column("assignee", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

escalation_messages = Table(
    "escalation_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("escalation_id", Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author", String(16), nullable=False),  # agent | shopper
    Column("content", Text, nullable=False),
    Column("delivered", Boolean, nullable=False, default=False),
    Column("ts", DateTime(timezone=True), nullable=False),
)

# the query log on PostgreSQL (assistant.turn_log; a JSONL file otherwise), revision 0003
turn_log = Table(
    "turn_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # turn | event
    Column("turn_id", String(32), index=True),
    Column("session", String(64)),  # pseudonymised
    Column("record", JSON, nullable=False),  # the whole log line
)

Index("ix_events_user_ts", events.c.user, events.c.ts)
# one active (open or assigned) ticket per session: idempotent escalation across processes (revision 0002)
_ACTIVE = text("status IN ('open', 'assigned')")
Index("uq_escalations_one_active", escalations.c.session_id, unique=True, sqlite_where=_ACTIVE,
      postgresql_where=_ACTIVE)

"""Schema migrations (Alembic) run when a :class:`catalog.store.Store` opens a database.

* a new database: every revision runs (``catalog/migrations/versions``);
* a database created before migrations existed (tables but no ``alembic_version``): stamped at
  ``0001`` (the schema it already has), then the later revisions run: existing data is kept;
* a database at the newest revision: one cheap read of ``alembic_version``, nothing else.

Concurrent starts are safe: on PostgreSQL a transaction-level advisory lock serialises them; on
SQLite the write lock does, and a loser that finds the work done re-reads the revision.

By hand: ``alembic -c catalog/migrations/alembic.ini -x url=URL upgrade head`` (or ``current``, ``history``).

Example::

    migrate(create_engine("sqlite:///var/shopassist.db"))   # 'upgraded from None to 0002'
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

log = logging.getLogger("shopassist.migrate")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
ADVISORY_KEY = 0x5A0_0DB


def _config() -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> str:
    """Bring the database to the newest revision; returns what was done (one line)."""
    head = head_revision()
    try:
        before = current_revision(engine)
    except Exception:  # noqa: BLE001 - e.g. a SQLite file locked by a writer: decide inside the transaction
        before = "?"
    if before == head:
        return f"at {head}"
    try:
        return _upgrade(engine, head)
    except Exception:
        if current_revision(engine) == head:  # another process migrated at the same moment
            return f"at {head} (migrated concurrently)"
        raise


def _upgrade(engine: Engine, head: str) -> str:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
        context = MigrationContext.configure(conn)
        before = context.get_current_revision()
        if before == head:
            return f"at {head}"
        cfg = _config()
        cfg.attributes["connection"] = conn
        try:
            if before is None and inspect(conn).has_table("products"):
                command.stamp(cfg, BASELINE)  # made by create_all before migrations: that is revision 0001
                before = BASELINE
            command.upgrade(cfg, "head")
        finally:
            cfg.attributes.pop("connection", None)
    log.info("database schema upgraded", extra={"from": before, "to": head})
    return f"upgraded from {before} to {head}"

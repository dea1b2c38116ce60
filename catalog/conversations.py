"""Conversation sessions and their transcripts, in the ``sessions`` and ``messages`` tables.

One row per session holds the dialogue state (a JSON object owned by the assistant) and the
pseudonymised user; one row per message holds the transcript. Nothing is kept in memory between
calls, so two sessions never see each other's state and a session survives a process restart
(``shopassist chat --once ... --session ID`` continues where the last call stopped).

Message contents are stored as given: callers redact personal data first (the agent stores
``catalog.privacy.redact(text)``).

Example::

    conversations = ConversationStore(store)
    conversations.open("s1", user="u_ab12")
    conversations.append("s1", "user", "red running shoes under $80")
    conversations.save_state("s1", {"dialogue": {...}})
    conversations.load_state("s1")               # {'dialogue': {...}}
    [m.content for m in conversations.transcript("s1")]
"""
from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from catalog import schema
from catalog.store import Store

ROLES = ("user", "assistant", "agent", "system")
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class _SessionLocks:
    """One lock per session id, exactly (no hashing into shared buckets), dropped when unused."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}  # session id -> [lock, users]

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(session_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(session_id, None)


class SessionError(ValueError):
    """A bad session id or role; the message says what a valid one looks like."""


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` if valid (1–64 characters: letters, digits, ``_ . : -``), else raise SessionError."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise SessionError(f"invalid session id {session_id!r}: use 1-64 letters, digits, '_', '.', ':' or '-', "
                           "starting with a letter or digit")
    return session_id


@dataclass
class Message:
    """One transcript line. ``role`` is user | assistant | agent (a person) | system."""

    role: str
    content: str
    payload: dict[str, Any] | None = None
    ts: datetime | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content,
                "ts": self.ts.isoformat() if self.ts else None}


@dataclass
class Session:
    """A session row: id, pseudonymised user (or None) and the state object."""

    id: str
    user: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ConversationStore:
    """Repository for sessions and messages on a :class:`catalog.store.Store`.

    Args:
        store: the SQL store (SQLite or PostgreSQL); tables exist once the store is created.
    """

    def __init__(self, store: Store):
        self.store = store
        self.engine = store.engine
        self._locks = _SessionLocks()

    @contextmanager
    def turn_lock(self, session_id: str) -> Iterator[None]:
        """Run the turns of one session one at a time, in order; other sessions never wait.

        In this process: one lock per session id (no collisions between sessions). On PostgreSQL also
        a session-level advisory lock on the session id, so turns of one session are ordered across
        app processes too (SQLite is one process).
        """
        check_session_id(session_id)
        with self._locks.hold(session_id):
            if self.engine.dialect.name != "postgresql":
                yield
                return
            key = zlib.crc32(session_id.encode()) - 2**31  # a signed 32-bit key; a rare collision only waits
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    # -- sessions -------------------------------------------------------------------------
    def get(self, session_id: str) -> Session | None:
        """The session, or None when it has never been opened."""
        check_session_id(session_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.sessions).where(schema.sessions.c.id == session_id)).mappings().first()
        if row is None:
            return None
        return Session(id=row["id"], user=row["user"], state=dict(row["state"] or {}),
                       created_at=row["created_at"], updated_at=row["updated_at"])

    def open(self, session_id: str, user: str | None = None) -> Session:
        """Return the session, creating it if new. A ``user`` given later is attached to an anonymous session.

        Raises:
            SessionError: the id is invalid, or the session belongs to a different user
                (use a new session id for a different shopper).
        """
        found = self.get(session_id)
        if found is None:
            now = _now()
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(schema.sessions).values(id=session_id, user=user, state={},
                                                                created_at=now, updated_at=now))
            except IntegrityError:  # created concurrently: read the winner
                return self.open(session_id, user)
            return Session(id=session_id, user=user, state={}, created_at=now, updated_at=now)
        if user and found.user and found.user != user:
            raise SessionError(f"session {session_id!r} belongs to another user: start a new session id")
        if user and not found.user:
            with self.engine.begin() as conn:
                conn.execute(update(schema.sessions).where(schema.sessions.c.id == session_id)
                             .values(user=user, updated_at=_now()))
            found.user = user
        return found

    def load_state(self, session_id: str) -> dict[str, Any]:
        """The stored state object ({} for a new or unknown session)."""
        found = self.get(session_id)
        return found.state if found else {}

    def save_state(self, session_id: str, state: dict[str, Any]) -> None:
        """Replace the session's state (the session is created if missing). ``state`` must be JSON-serialisable."""
        self.open(session_id)
        with self.engine.begin() as conn:
            conn.execute(update(schema.sessions).where(schema.sessions.c.id == session_id)
                         .values(state=state, updated_at=_now()))

    def delete(self, session_id: str) -> bool:
        """Forget a session and its transcript (right to erasure). True if it existed."""
        check_session_id(session_id)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.messages).where(schema.messages.c.session_id == session_id))
            return conn.execute(delete(schema.sessions).where(schema.sessions.c.id == session_id)).rowcount > 0

    # -- messages -------------------------------------------------------------------------
    def append(self, session_id: str, role: str, content: str, payload: dict[str, Any] | None = None) -> int:
        """Add one transcript line; returns its id. The session is created if missing."""
        if role not in ROLES:
            raise SessionError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise SessionError("message content must be a string")
        self.open(session_id)
        with self.engine.begin() as conn:
            result = conn.execute(insert(schema.messages).values(session_id=session_id, role=role, content=content,
                                                                 payload=payload, ts=_now()))
            return int(result.inserted_primary_key[0])

    def transcript(self, session_id: str, limit: int | None = None) -> list[Message]:
        """Messages oldest first; with ``limit``, only the last ``limit`` messages."""
        check_session_id(session_id)
        query = select(schema.messages).where(schema.messages.c.session_id == session_id)
        if limit:
            query = query.order_by(schema.messages.c.id.desc()).limit(limit)
        else:
            query = query.order_by(schema.messages.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        messages = [Message(role=r["role"], content=r["content"], payload=r["payload"], ts=r["ts"], id=r["id"])
                    for r in rows]
        return sorted(messages, key=lambda m: m.id or 0)

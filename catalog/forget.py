"""Forget a shopper everywhere: the right to erasure (``DELETE /api/v1/users/me``, ``shopassist forget USER``).

One transaction removes, for the pseudonymised user (and any extra session ids, e.g. the anonymous
session asking to be forgotten):

* ``events`` of the user (their behaviour history, which is also their profile: the recommender
  derives the user's vector and profile line from these events on every call and stores none);
* ``sessions`` of the user, with their dialogue state, and the ``messages`` (transcripts) of those sessions;
* ``escalations`` of the user or of those sessions, with their ``escalation_messages``;
* events recorded under those sessions by anyone (anonymous feedback in the session).

Product vectors (Chroma, BM25) hold no shopper data; rate-limit counters in Redis are keyed by
hashes of session ids and expire within a minute; logs never carry ids or message text.

Example::

    removed = forget_user(store, pseudonymise("alice", settings.user_id_key))
    removed   # {'events': 12, 'sessions': 2, 'messages': 9, 'escalations': 1, 'escalation_messages': 3}
    remaining(store, pseudonymise("alice", settings.user_id_key))   # all zeros
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select

from catalog import schema
from catalog.store import Store


def _session_ids(conn, user: str, extra: Iterable[str]) -> list[str]:
    found = {r[0] for r in conn.execute(select(schema.sessions.c.id).where(schema.sessions.c.user == user))}
    found |= {r[0] for r in conn.execute(select(schema.escalations.c.session_id)
                                         .where(schema.escalations.c.user == user))}
    return sorted(found | {s for s in extra if s})


def forget_user(store: Store, user: str, session_ids: Iterable[str] = ()) -> dict[str, int]:
    """Delete everything of ``user`` (pseudonymised key) and of ``session_ids``; returns rows removed per table."""
    if not user:
        raise ValueError("forget_user needs the pseudonymised user key")
    with store.engine.begin() as conn:
        sessions = _session_ids(conn, user, session_ids)
        esc_filter = schema.escalations.c.user == user
        if sessions:
            esc_filter = or_(esc_filter, schema.escalations.c.session_id.in_(sessions))
        tickets = [r[0] for r in conn.execute(select(schema.escalations.c.id).where(esc_filter))]
        removed = {"escalation_messages": 0, "escalations": 0, "messages": 0, "sessions": 0, "events": 0}
        if tickets:
            removed["escalation_messages"] = conn.execute(delete(schema.escalation_messages).where(
                schema.escalation_messages.c.escalation_id.in_(tickets))).rowcount
            removed["escalations"] = conn.execute(delete(schema.escalations).where(
                schema.escalations.c.id.in_(tickets))).rowcount
        event_filter = schema.events.c.user == user
        if sessions:
            removed["messages"] = conn.execute(delete(schema.messages).where(
                schema.messages.c.session_id.in_(sessions))).rowcount
            removed["sessions"] = conn.execute(delete(schema.sessions).where(
                schema.sessions.c.id.in_(sessions))).rowcount
            event_filter = or_(event_filter, schema.events.c.session_id.in_(sessions))
        removed["events"] = conn.execute(delete(schema.events).where(event_filter)).rowcount
    return removed


def remaining(store: Store, user: str, session_ids: Iterable[str] = ()) -> dict[str, int]:
    """Rows that still refer to ``user`` or ``session_ids`` in any table (all zeros after :func:`forget_user`)."""
    sessions = list(session_ids)
    counts: dict[str, int] = {}
    with store.engine.connect() as conn:
        def count(table, *conditions) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(or_(*conditions))).scalar_one())

        s_cond = [schema.sessions.c.user == user] + ([schema.sessions.c.id.in_(sessions)] if sessions else [])
        counts["sessions"] = count(schema.sessions, *s_cond)
        e_cond = [schema.events.c.user == user] + ([schema.events.c.session_id.in_(sessions)] if sessions else [])
        counts["events"] = count(schema.events, *e_cond)
        t_cond = [schema.escalations.c.user == user] + (
            [schema.escalations.c.session_id.in_(sessions)] if sessions else [])
        counts["escalations"] = count(schema.escalations, *t_cond)
        counts["messages"] = count(schema.messages, schema.messages.c.session_id.in_(sessions)) if sessions else 0
        orphan = select(schema.escalations.c.id)
        counts["escalation_messages"] = int(conn.execute(
            select(func.count()).select_from(schema.escalation_messages)
            .where(schema.escalation_messages.c.escalation_id.not_in(orphan))).scalar_one())
    return counts

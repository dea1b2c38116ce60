"""Escalation tickets: a conversation handed to a person, in the ``escalations`` and
``escalation_messages`` tables.

Life cycle (anything else raises :class:`TransitionError`)::

    open ──► assigned ──► resolved      (a person may also resolve an open ticket directly,
      │   ◄──    │                       or un-assign an assigned one back to open)
      └──────────┴──────► returned      (handed back to the assistant)

A person answers through :meth:`EscalationStore.add_message` (author ``agent``); the shopper's
side fetches those answers once with :meth:`EscalationStore.take_undelivered` (they are marked
delivered in the same transaction, so two polls never deliver a message twice).

Example::

    tickets = EscalationStore(store)
    t = tickets.create("s1", reason="shopper_request", intent="contact_human_agent", sentiment=-0.2,
                       summary="Wants to talk to a person about order 12345678.",
                       transcript=[{"role": "user", "content": "..."}], products=["B0001"],
                       order_id="12345678")
    tickets.update_status(t.id, "assigned", assignee="maria")
    tickets.add_message(t.id, "agent", "Hi, I'm Maria - I'm looking at your order now.")
    [m.content for m in tickets.take_undelivered("s1")]   # delivered once
    tickets.update_status(t.id, "resolved")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from catalog import schema
from catalog.store import Store

STATUSES = ("open", "assigned", "resolved", "returned")
ACTIVE_STATUSES = ("open", "assigned")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("assigned", "resolved", "returned"),
    "assigned": ("resolved", "returned", "open"),
    "resolved": (),
    "returned": (),
}
AUTHORS = ("agent", "shopper")


class EscalationError(ValueError):
    """Bad input to the escalation store (unknown ticket, bad author, empty message)."""


class TransitionError(EscalationError):
    """A status change that the life cycle does not allow."""


@dataclass
class TicketMessage:
    id: int
    escalation_id: int
    author: str
    content: str
    delivered: bool
    ts: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "content": self.content, "delivered": self.delivered,
                "ts": self.ts.isoformat()}


@dataclass
class Ticket:
    """One escalation with everything a person needs to take over."""

    id: int
    session_id: str
    status: str
    reason: str
    intent: str | None = None
    sentiment: float | None = None
    summary: str = ""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    products: list[Any] = field(default_factory=list)
    order_id: str | None = None
    user: str | None = None
    assignee: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    messages: list[TicketMessage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "session_id": self.session_id, "status": self.status, "reason": self.reason,
                "intent": self.intent, "sentiment": self.sentiment, "summary": self.summary,
                "transcript": self.transcript, "products": self.products, "order_id": self.order_id,
                "assignee": self.assignee,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "messages": [m.as_dict() for m in self.messages]}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ticket(row, messages: list[TicketMessage] | None = None) -> Ticket:
    return Ticket(id=row["id"], session_id=row["session_id"], status=row["status"], reason=row["reason"],
                  intent=row["intent"], sentiment=row["sentiment"], summary=row["summary"] or "",
                  transcript=list(row["transcript"] or []), products=list(row["products"] or []),
                  order_id=row["order_id"], user=row["user"], assignee=row["assignee"],
                  created_at=row["created_at"], updated_at=row["updated_at"], messages=messages or [])


def _message(row) -> TicketMessage:
    return TicketMessage(id=row["id"], escalation_id=row["escalation_id"], author=row["author"],
                         content=row["content"], delivered=bool(row["delivered"]), ts=row["ts"])


class EscalationStore:
    """Repository for escalation tickets on a :class:`catalog.store.Store`.

    The store keeps what it is given: callers pass an already redacted transcript and summary and a
    pseudonymised user (the agent does).
    """

    def __init__(self, store: Store):
        self.store = store
        self.engine = store.engine

    def create(self, session_id: str, reason: str, *, intent: str | None = None, sentiment: float | None = None,
               summary: str = "", transcript: list[dict[str, Any]] | None = None,
               products: list[Any] | None = None, order_id: str | None = None, user: str | None = None) -> Ticket:
        """Open a ticket (status ``open``) and return it."""
        if not session_id or not reason:
            raise EscalationError("an escalation needs a session id and a reason")
        now = _now()
        values = dict(session_id=session_id, reason=reason[:64], intent=intent, sentiment=sentiment,
                      summary=summary, transcript=list(transcript or []), products=list(products or []),
                      order_id=(order_id or None) and str(order_id)[:64], user=user, status="open",
                      created_at=now, updated_at=now)
        try:
            with self.engine.begin() as conn:
                new_id = int(conn.execute(insert(schema.escalations).values(**values)).inserted_primary_key[0])
        except IntegrityError:
            # the session already has an active ticket (unique index uq_escalations_one_active, revision
            # 0002): creation is idempotent, also between processes; the winner's ticket is returned
            active = self.active_for_session(session_id)
            if active is None:
                raise
            return self.get(active.id)
        return self.get(new_id)

    def held_by_person(self, session_id: str) -> Ticket | None:
        """The session's ticket when a person holds it (status ``assigned``), else None.

        While a person holds the ticket the assistant relays the shopper's messages to them instead
        of answering (see :func:`relay_reply`).
        """
        ticket = self.active_for_session(session_id)
        return ticket if ticket is not None and ticket.status == "assigned" else None

    def get(self, escalation_id: int) -> Ticket | None:
        """The ticket with its messages, or None when there is no such ticket."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.escalations)
                               .where(schema.escalations.c.id == int(escalation_id))).mappings().first()
            if row is None:
                return None
            msgs = conn.execute(select(schema.escalation_messages)
                                .where(schema.escalation_messages.c.escalation_id == row["id"])
                                .order_by(schema.escalation_messages.c.id)).mappings().all()
        return _ticket(row, [_message(m) for m in msgs])

    def list(self, status: str | None = None, session_id: str | None = None, limit: int = 100) -> list[Ticket]:
        """Tickets newest first, optionally filtered by status and/or session (without their messages)."""
        if status is not None and status not in STATUSES:
            raise EscalationError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        query = select(schema.escalations).order_by(schema.escalations.c.id.desc()).limit(max(1, int(limit)))
        if status:
            query = query.where(schema.escalations.c.status == status)
        if session_id:
            query = query.where(schema.escalations.c.session_id == session_id)
        with self.engine.connect() as conn:
            return [_ticket(r) for r in conn.execute(query).mappings().all()]

    def active_for_session(self, session_id: str) -> Ticket | None:
        """The newest open or assigned ticket of a session, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.escalations)
                               .where(schema.escalations.c.session_id == session_id,
                                      schema.escalations.c.status.in_(ACTIVE_STATUSES))
                               .order_by(schema.escalations.c.id.desc()).limit(1)).mappings().first()
        return _ticket(row) if row else None

    def update_status(self, escalation_id: int, status: str, assignee: str | None = None) -> Ticket:
        """Move a ticket along its life cycle; raises TransitionError for a move it does not allow."""
        if status not in STATUSES:
            raise EscalationError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        with self.engine.begin() as conn:
            row = conn.execute(select(schema.escalations.c.status)
                               .where(schema.escalations.c.id == int(escalation_id))).first()
            if row is None:
                raise EscalationError(f"no escalation with id {escalation_id}")
            current = row[0]
            if status not in TRANSITIONS[current]:
                allowed = ", ".join(TRANSITIONS[current]) or "none (it is closed)"
                raise TransitionError(f"escalation {escalation_id} is {current!r}; it cannot become {status!r}. "
                                      f"Allowed next: {allowed}")
            values: dict[str, Any] = {"status": status, "updated_at": _now()}
            if assignee is not None:
                values["assignee"] = assignee[:64]
            # compare-and-set: a concurrent change in between makes this update touch no row
            done = conn.execute(update(schema.escalations)
                                .where(schema.escalations.c.id == int(escalation_id),
                                       schema.escalations.c.status == current).values(**values)).rowcount
            if not done:
                raise TransitionError(f"escalation {escalation_id} changed while updating; read it again and retry")
        return self.get(escalation_id)

    def add_message(self, escalation_id: int, author: str, content: str) -> TicketMessage:
        """Add a message to a ticket: ``agent`` (a person; delivered to the shopper later) or ``shopper``."""
        if author not in AUTHORS:
            raise EscalationError(f"invalid author {author!r}: use one of {', '.join(AUTHORS)}")
        if not content or not content.strip():
            raise EscalationError("the message is empty: write something for the shopper")
        ticket = self.get(escalation_id)
        if ticket is None:
            raise EscalationError(f"no escalation with id {escalation_id}: list them with list(status=None)")
        if author == "agent" and ticket.status not in ACTIVE_STATUSES:
            raise EscalationError(f"escalation {escalation_id} is {ticket.status}; reopen is not possible, "
                                  "ask the shopper to start a new conversation")
        with self.engine.begin() as conn:
            result = conn.execute(insert(schema.escalation_messages).values(
                escalation_id=ticket.id, author=author, content=content.strip(),
                delivered=(author == "shopper"), ts=_now()))
            msg_id = int(result.inserted_primary_key[0])
            row = conn.execute(select(schema.escalation_messages)
                               .where(schema.escalation_messages.c.id == msg_id)).mappings().first()
        return _message(row)

    def take_undelivered(self, session_id: str) -> list[TicketMessage]:
        """Agent messages for this session not yet shown to the shopper, oldest first; marks them delivered."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(schema.escalation_messages)
                .join(schema.escalations, schema.escalations.c.id == schema.escalation_messages.c.escalation_id)
                .where(schema.escalations.c.session_id == session_id,
                       schema.escalation_messages.c.author == "agent",
                       schema.escalation_messages.c.delivered.is_(False))
                .order_by(schema.escalation_messages.c.id)).mappings().all()
            taken = []
            for r in rows:  # claim each one: a concurrent poll that got there first makes rowcount 0
                claimed = conn.execute(update(schema.escalation_messages)
                                       .where(schema.escalation_messages.c.id == r["id"],
                                              schema.escalation_messages.c.delivered.is_(False))
                                       .values(delivered=True)).rowcount
                if claimed:
                    taken.append(r)
        return [_message(r) for r in taken]


def relay_reply(ticket: Ticket) -> str:
    """What the shopper sees while a person holds their ticket: the message was passed on, no bot answer."""
    who = ticket.assignee or "the person helping you"
    return (f"I've passed your message to {who} (ticket #{ticket.id}); their reply will appear here. "
            "I won't answer in the meantime so you get one clear answer.")

"""A small in-memory backend with the same interface as ui.backend.AssistantBackend (unit tests only).

Products are ranked by word overlap with the message plus a boost for items like those the user
added to the cart or bought, and minus items marked not interested, so feedback visibly changes the
next answer — the property the real assistant must also have.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from assistant.types import EscalationInfo, ProductPick, Reply
from catalog.records import Product
from ui.backend import WriteTracker

PRODUCTS = [
    Product(id="toy-1", title="Wooden toy train set", price=24.99, currency="GBP", brand="Brio",
            category=["toys", "trains"], image_url="https://example.com/train.jpg"),
    Product(id="toy-2", title="Red toy racing car", price=9.5, currency="GBP", brand="Hot Wheels",
            category=["toys", "cars"]),
    Product(id="toy-3", title="Wooden building blocks", price=15.0, currency="GBP", brand="Brio",
            category=["toys", "blocks"]),
    Product(id="toy-4", title="Plush teddy bear", price=12.0, currency="GBP", brand="Jellycat",
            category=["toys", "plush"]),
]
WEIGHTS = {"add_to_cart": 2.0, "purchase": 3.0, "like": 1.0, "click": 0.3, "view": 0.1, "rating": 0.5,
           "not_interested": -5.0}


class FakeBackend:
    """Deterministic, thread-safe, in memory."""

    def __init__(self) -> None:
        self.tracker = WriteTracker()
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.escalations: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.ready = True
        self.warmed = False
        self.transcripts: dict[str, list[dict[str, str]]] = {}
        self.owners: dict[str, str | None] = {}

    def warm(self) -> None:
        self.warmed = True

    def readiness(self) -> tuple[bool, str]:
        return (True, "ready") if self.ready else (False, "loading")

    def _affinity(self, user: str | None, product: Product) -> float:
        score = 0.0
        for e in self.events:
            if e["user"] == user:
                other = next(p for p in PRODUCTS if p.id == e["item_id"])
                same = 1.0 if e["item_id"] == product.id else (0.5 if other.brand == product.brand else 0.0)
                score += WEIGHTS[e["kind"]] * same
        return score

    def _picks(self, message: str, user: str | None, k: int = 4) -> list[ProductPick]:
        words = set(message.lower().split())
        out = []
        for p in PRODUCTS:
            query = len(words & set(p.title.lower().split())) / 3
            affinity = self._affinity(user, p)
            out.append(ProductPick(id=p.id, title=p.title, price=p.price, currency=p.currency,
                                   image_url=p.image_url, score=query + affinity,
                                   scores={"query": query, "affinity": affinity},
                                   explanation=f"{p.title} at £{p.price:.2f}."))
        return sorted(out, key=lambda x: -x.score)[:k]

    def respond(self, session_id: str, message: str, user_id: str | None = None) -> Reply:
        return list(self.respond_stream(session_id, message, user_id))[-1]

    def respond_stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[Reply]:
        picks = self._picks(message, user_id)
        with self._lock:
            self.owners.setdefault(session_id, user_id)
            self.transcripts.setdefault(session_id, []).append({"role": "user", "content": message})
        yield Reply(session_id=session_id, intent="search", products=picks, reply="", final=False)
        yield Reply(session_id=session_id, intent="search", products=picks,
                    reply=f"Here are {len(picks)} picks.", final=True)

    def record_event(self, user_id: str, item_id: str, kind: str, session_id: str | None = None,
                     value: float | None = None) -> None:
        with self.tracker.write(), self._lock:
            self.events.append({"user": user_id, "item_id": item_id, "kind": kind, "session_id": session_id})

    def product(self, item_id: str) -> Product | None:
        return next((p for p in PRODUCTS if p.id == item_id), None)

    def recommend(self, user_id: str | None, k: int) -> list[ProductPick]:
        return self._picks("", user_id, k)

    def profile_summary(self, user_id: str | None) -> str:
        return f"{sum(1 for e in self.events if e['user'] == user_id)} events"

    def escalate(self, session_id: str, reason: str = "shopper_request", user_id: str | None = None) -> EscalationInfo:
        with self.tracker.write(), self._lock:
            eid = len(self.escalations) + 1
            self.escalations[eid] = {"id": eid, "session_id": session_id, "status": "open", "reason": reason,
                                     "summary": "shopper asked for a person", "transcript": [], "products": []}
            self.messages[eid] = []
        return EscalationInfo(id=eid, reason=reason, message="A person will reply here shortly.")

    def pending_agent_messages(self, session_id: str) -> list[str]:
        with self._lock:
            out = []
            for eid, e in self.escalations.items():
                if e["session_id"] == session_id:
                    for m in self.messages[eid]:
                        if not m["delivered"]:
                            m["delivered"] = True
                            out.append(m["content"])
            return out

    def history(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.transcripts.get(session_id, [])]

    def forget_user(self, user_id: str, session_id: str | None = None) -> dict[str, int]:
        with self.tracker.write(), self._lock:
            before = len(self.events)
            self.events = [e for e in self.events if e["user"] != user_id and e["session_id"] != session_id]
            gone = [s for s, owner in self.owners.items() if owner == user_id or s == session_id]
            for sid in gone:
                self.transcripts.pop(sid, None)
                self.owners.pop(sid, None)
            return {"events": before - len(self.events), "sessions": len(gone)}

    def list_escalations(self, status: str | None) -> list[dict[str, Any]]:
        return [dict(e) for e in reversed(self.escalations.values()) if status is None or e["status"] == status]

    def get_escalation(self, escalation_id: int) -> dict[str, Any] | None:
        e = self.escalations.get(escalation_id)
        return dict(e, messages=list(self.messages[escalation_id])) if e else None

    def add_agent_message(self, escalation_id: int, content: str) -> dict[str, Any]:
        with self.tracker.write(), self._lock:
            m = {"author": "agent", "content": content, "delivered": False}
            self.messages[escalation_id].append(m)
            return dict(m)

    def set_escalation_status(self, escalation_id: int, status: str, assignee: str | None = None) -> dict[str, Any]:
        with self.tracker.write(), self._lock:
            self.escalations[escalation_id].update(status=status, assignee=assignee)
            return dict(self.escalations[escalation_id])

    def close(self) -> None:
        pass

"""catalog.privacy, catalog.conversations and catalog.escalations on a real SQLite store."""
from __future__ import annotations

import threading

import pytest

from catalog.conversations import ConversationStore, SessionError
from catalog.escalations import EscalationError, EscalationStore, TransitionError
from catalog.privacy import luhn_valid, pseudonymise, redact
from catalog.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield s
    s.close()


@pytest.mark.parametrize("text, expected", [
    ("card 4111 1111 1111 1111 please", "card [card] please"),
    ("amex 378282246310005", "amex [card]"),
    ("mc 5500-0000-0000-0004", "mc [card]"),
    ("my order 113542617735902 is late", "my order 113542617735902 is late"),   # 15 digits, not a card
    ("order 00123842 and 732201349959", "order 00123842 and 732201349959"),
    ("mail me at jane.doe+x@example.co.uk", "mail me at [email]"),
    ("call +1 (555) 010-9999 or 020 7946 0958", "call [phone] or [phone]"),
    ("phone 07700900123", "phone [phone]"),
    ("size 10, $69.99, on 2024-05-01", "size 10, $69.99, on 2024-05-01"),
    ("model WH-1000XM4 costs 1,299.00", "model WH-1000XM4 costs 1,299.00"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_luhn_and_pseudonymise():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    a, b = pseudonymise("alice", "k1"), pseudonymise("alice", "k2")
    assert a.startswith("u_") and a != b and a == pseudonymise(" alice ", "k1") and "alice" not in a
    with pytest.raises(ValueError, match="empty"):
        pseudonymise("", "k1")


def test_conversations_state_and_transcript(store):
    conv = ConversationStore(store)
    conv.open("s1", user="u_1")
    conv.append("s1", "user", "hello")
    conv.append("s1", "assistant", "hi", {"intent": "chitchat"})
    conv.save_state("s1", {"dialogue": {"turn": 1}})
    assert conv.load_state("s1") == {"dialogue": {"turn": 1}}
    assert [m.role for m in conv.transcript("s1")] == ["user", "assistant"]
    assert [m.content for m in conv.transcript("s1", limit=1)] == ["hi"]
    assert conv.load_state("other") == {}
    with pytest.raises(SessionError, match="another user"):
        conv.open("s1", user="u_2")
    with pytest.raises(SessionError, match="invalid session id"):
        conv.open("bad id with spaces")
    with pytest.raises(SessionError, match="invalid role"):
        conv.append("s1", "robot", "x")
    assert conv.delete("s1") and conv.get("s1") is None


def test_escalation_life_cycle(store):
    tickets = EscalationStore(store)
    t = tickets.create("s1", "order_problem", intent="track_order", sentiment=-0.2, summary="late parcel",
                       transcript=[{"role": "user", "content": "where is 12345678"}], products=["p1"],
                       order_id="12345678")
    got = tickets.get(t.id)
    assert (got.status, got.reason, got.intent, got.order_id, got.products) == \
        ("open", "order_problem", "track_order", "12345678", ["p1"])
    assert got.transcript[0]["content"] == "where is 12345678"
    assert [x.id for x in tickets.list("open")] == [t.id] and tickets.list("resolved") == []
    assert tickets.active_for_session("s1").id == t.id
    tickets.update_status(t.id, "assigned", assignee="maria")
    tickets.add_message(t.id, "agent", "Hi, Maria here.")
    tickets.add_message(t.id, "agent", "Your parcel ships today.")
    assert [m.content for m in tickets.take_undelivered("s1")] == ["Hi, Maria here.", "Your parcel ships today."]
    assert tickets.take_undelivered("s1") == []
    tickets.update_status(t.id, "resolved")
    with pytest.raises(TransitionError, match="cannot become 'assigned'"):
        tickets.update_status(t.id, "assigned")
    with pytest.raises(EscalationError, match="unknown status"):
        tickets.update_status(t.id, "closed")
    with pytest.raises(EscalationError, match="is resolved"):
        tickets.add_message(t.id, "agent", "late")
    with pytest.raises(EscalationError, match="empty"):
        tickets.add_message(t.id, "shopper", "  ")
    assert tickets.get(9999) is None
    assert tickets.active_for_session("s1") is None


def test_returned_and_concurrent_delivery(store):
    tickets = EscalationStore(store)
    t = tickets.create("s2", "shopper_request")
    for i in range(20):
        tickets.add_message(t.id, "agent", f"m{i}")
    got: list[str] = []
    lock = threading.Lock()

    def poll():
        taken = tickets.take_undelivered("s2")
        with lock:
            got.extend(m.content for m in taken)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(got) == sorted(f"m{i}" for i in range(20))  # each delivered exactly once
    assert tickets.update_status(t.id, "returned").status == "returned"

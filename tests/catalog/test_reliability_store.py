"""Store-level reliability: forget-me (SQLite and PostgreSQL), idempotent tickets under concurrency,
Alembic migrations that keep data, per-session turn ordering."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, insert, inspect, select, text

from catalog import schema
from catalog.conversations import ConversationStore
from catalog.escalations import EscalationStore
from catalog.events import EventStore
from catalog.forget import forget_user, remaining
from catalog.migrate import current_revision, head_revision
from catalog.records import Event, Product
from catalog.store import Store

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_url() -> str:
    try:
        engine = create_engine(PG_BASE)
        name = f"sa_test_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 ({type(exc).__name__})")
    return f"{PG_BASE}?options=-csearch_path%3D{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}" if request.param == "sqlite" else _pg_url()
    s = Store(url)
    yield s
    if request.param == "postgresql":
        name = url.rsplit("%3D", 1)[1]
        s.close()
        engine = create_engine(PG_BASE)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        engine.dispose()
    else:
        s.close()


def _fill(store: Store, user: str, sid: str) -> None:
    store.upsert_products([Product(id="p1", title="Wooden train", price=10.0)])
    EventStore(store).add_many([Event(user=user, item_id="p1", kind="click", session_id=sid),
                                Event(user=user, item_id="p1", kind="purchase")])
    conversations = ConversationStore(store)
    conversations.open(sid, user)
    conversations.append(sid, "user", "hello, my order is late")
    tickets = EscalationStore(store)
    ticket = tickets.create(sid, "shopper_request", transcript=[{"role": "user", "content": "hi"}], user=user)
    tickets.add_message(ticket.id, "agent", "Hi, Maria here.")


def test_forget_removes_everything_of_the_shopper(store):
    _fill(store, "u_alice", "s-alice")
    _fill(store, "u_bob", "s-bob")
    removed = forget_user(store, "u_alice")
    assert removed["events"] == 2 and removed["sessions"] == 1 and removed["escalations"] == 1
    assert set(remaining(store, "u_alice", ["s-alice"]).values()) == {0}
    with store.engine.connect() as conn:  # nothing anywhere mentions alice's key or session
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                assert "u_alice" not in str(dict(row)) and "s-alice" not in str(dict(row)), table.name
    assert remaining(store, "u_bob", ["s-bob"])["events"] == 2  # bob is untouched
    assert EventStore(store).count("u_bob") == 2


def test_ticket_creation_is_idempotent_under_concurrency(store):
    tickets = EscalationStore(store)
    ConversationStore(store).open("s-race")
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: tickets.create("s-race", "shopper_request").id, range(8)))
    assert len(set(ids)) == 1
    assert len(tickets.list(session_id="s-race")) == 1
    tickets.update_status(ids[0], "resolved")
    assert tickets.create("s-race", "shopper_request").id != ids[0]  # a closed ticket allows a new one


def test_held_ticket_is_reported_for_relay(store):
    tickets = EscalationStore(store)
    ticket = tickets.create("s-held", "shopper_request")
    assert tickets.held_by_person("s-held") is None  # open: nobody holds it yet
    tickets.update_status(ticket.id, "assigned", assignee="maria")
    held = tickets.held_by_person("s-held")
    from catalog.escalations import relay_reply

    assert held.id == ticket.id and "maria" in relay_reply(held)


def test_turns_of_one_session_run_in_order(store):
    conversations = ConversationStore(store)
    inside, overlaps, other_ran = [0], [], threading.Event()

    def turn(sid: str) -> None:
        with conversations.turn_lock(sid):
            inside[0] += 1
            overlaps.append(inside[0])
            threading.Event().wait(0.05)
            inside[0] -= 1

    threads = [threading.Thread(target=turn, args=("s-order",)) for _ in range(4)]
    for t in threads:
        t.start()
    with conversations.turn_lock("s-other"):  # another session never waits for s-order
        other_ran.set()
    for t in threads:
        t.join()
    assert max(overlaps) == 1 and other_ran.is_set()


def test_migrations_upgrade_a_pre_alembic_database_keeping_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    now = datetime.now(timezone.utc)
    old_tables = [t for t in schema.metadata.sorted_tables]
    with engine.begin() as conn:  # the schema as create_all made it before migrations, without the new index
        for table in old_tables:
            table.create(conn)
        conn.execute(text("DROP INDEX uq_escalations_one_active"))
        conn.execute(insert(schema.events).values(user="u_x", item_id="p1", kind="click", ts=now))
        for _ in range(2):  # the duplicate tickets the old race could create
            conn.execute(insert(schema.escalations).values(session_id="s-dup", status="open", reason="r", summary="",
                                                           transcript=[], products=[], created_at=now,
                                                           updated_at=now))
    engine.dispose()
    store = Store(url)
    assert current_revision(store.engine) == head_revision()
    assert EventStore(store).count("u_x") == 1
    statuses = sorted(t.status for t in EscalationStore(store).list(session_id="s-dup"))
    assert statuses == ["open", "resolved"]  # kept, the older one closed
    assert "uq_escalations_one_active" in {i["name"] for i in inspect(store.engine).get_indexes("escalations")}
    Store(url).close()  # opening again at head is a no-op
    store.close()

"""The SQL store on a real SQLite file and on the real PostgreSQL server of this machine."""
import uuid

import pytest
from sqlalchemy import create_engine, text

from catalog.records import Attribute, Product
from catalog.store import Store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'shop.db'}")
        yield store
        store.close()
        return
    name = f"shopassist_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # the machine's PostgreSQL must be running (see README)
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    store = Store(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    yield store
    store.close()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def products(n, suffix=""):
    return [Product(id=f"p{i}", title=f"Product {i}{suffix}", price=float(i), currency="GBP",
                    category=["Toys", "Trains"], attributes={"colour": Attribute(value="red")}) for i in range(n)]


def test_upsert_is_idempotent_and_updates_changed_rows(store):
    first = store.upsert_products(products(5))
    assert (first.added, first.updated, first.unchanged) == (5, 0, 0)
    again = store.upsert_products(products(5))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    changed = products(5)
    changed[2] = changed[2].model_copy(update={"title": "Renamed"})
    stats = store.upsert_products(changed)
    assert (stats.added, stats.updated, stats.unchanged) == (0, 1, 4)
    assert store.get_product("p2").title == "Renamed"
    assert store.count_products() == 5


def test_round_trip_keeps_every_field(store):
    original = products(1)[0]
    store.upsert_products([original])
    assert store.get_product("p0") == original
    assert store.get_product("missing") is None


def test_delete_and_fingerprint(store):
    store.upsert_products(products(3))
    before = store.fingerprint()
    assert store.delete_products(["p1", "nope"]) == 1
    assert store.count_products() == 2 and store.fingerprint() != before
    assert [p.id for p in store.iter_products()] == ["p0", "p2"]


def test_reopen_sees_the_same_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = Store(url)
    store.upsert_products(products(4))
    fingerprint = store.fingerprint()
    store.close()
    reopened = Store(url)
    assert reopened.count_products() == 4 and reopened.fingerprint() == fingerprint

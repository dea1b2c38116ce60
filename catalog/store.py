"""The SQL store: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) when configured.

The store is the source of truth. Indexes are derived from it and reconciled against its
per-product content hashes, so a crash between the two heals on the next sync.

Example::

    store = Store.from_settings(Settings(data_dir=Path("var")))
    stats = store.upsert_products([Product(id="1", title="Red mesh runner", price=69.99)])
    store.get_product("1").title  # 'Red mesh runner'
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine

from catalog import schema
from catalog.records import Attribute, Product
from catalog.settings import Settings


@dataclass
class UpsertStats:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "UpsertStats") -> "UpsertStats":
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Store:
    """Products (and, through ``engine``, events, sessions and escalations) in one SQL database."""

    def __init__(self, url: str):
        self.url = url
        # PostgreSQL: room for a per-session turn lock held during a turn beside the turn's own queries
        pool = {} if url.startswith("sqlite") else {"pool_size": 20, "max_overflow": 20, "pool_timeout": 10}
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True, **pool)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _enable_sqlite_pragmas)
        from catalog.migrate import migrate

        migrate(self.engine)  # Alembic: create or upgrade the schema, keeping existing data

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        if not settings.database_url:
            settings.ensure_data_dir()
        return cls(settings.sql_url)

    def close(self) -> None:
        self.engine.dispose()

    # -- products -------------------------------------------------------------------------
    def upsert_products(self, products: Iterable[Product], hashes: dict[str, str] | None = None) -> UpsertStats:
        """Insert new products, update changed ones, skip identical ones — in one transaction.

        ``hashes`` overrides the content hash per id (ingest passes the hash of the row as loaded,
        before enrichment, so re-ingesting the same file is recognised as unchanged).
        """
        hashes = hashes or {}
        rows = {p.id: _product_row(p, hashes.get(p.id)) for p in products}  # a later duplicate id wins
        stats = UpsertStats()
        if not rows:
            return stats
        with self.engine.begin() as conn:
            existing = dict(conn.execute(
                select(schema.products.c.id, schema.products.c.content_hash)
                .where(schema.products.c.id.in_(list(rows)))).all())
            new = [r for pid, r in rows.items() if pid not in existing]
            changed = [r for pid, r in rows.items() if pid in existing and existing[pid] != r["content_hash"]]
            if new:
                conn.execute(insert(schema.products), new)
            for row in changed:
                conn.execute(update(schema.products).where(schema.products.c.id == row["id"]).values(**row))
            stats.added, stats.updated = len(new), len(changed)
            stats.unchanged = len(rows) - len(new) - len(changed)
        return stats

    def delete_products(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(delete(schema.products).where(schema.products.c.id.in_(ids))).rowcount

    def get_product(self, product_id: str) -> Product | None:
        found = self.get_products([product_id])
        return found.get(product_id)

    def get_products(self, ids: Iterable[str]) -> dict[str, Product]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Product] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 900):
                chunk = ids[start:start + 900]
                for row in conn.execute(select(schema.products).where(schema.products.c.id.in_(chunk))).mappings():
                    out[row["id"]] = _row_product(row)
        return out

    def iter_products(self, batch_size: int = 2000) -> Iterator[Product]:
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                select(schema.products).order_by(schema.products.c.id))
            for row in result.mappings():
                yield _row_product(row)

    def count_products(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(schema.products)).scalar_one()

    def product_hashes(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(schema.products.c.id, schema.products.c.content_hash)).all())

    def fingerprint(self, hashes: dict[str, str] | None = None) -> str:
        """Hash of every (id, content hash): equal fingerprints mean identical catalogs.

        Pass ``hashes`` (from :meth:`product_hashes`) when you already have them.
        """
        digest = hashlib.sha256()
        for pid, h in sorted((self.product_hashes() if hashes is None else hashes).items()):
            digest.update(f"{pid}\t{h}\n".encode())
        return digest.hexdigest()[:32]


def _product_row(product: Product, content_hash: str | None = None) -> dict:
    return {
        "id": product.id, "title": product.title, "description": product.description,
        "category": product.category_path, "category_source": product.category_source,
        "brand": product.brand, "price": product.price, "currency": product.currency,
        "rating": product.rating, "image_url": product.image_url,
        "attributes": {k: v.model_dump() for k, v in product.attributes.items()},
        "content_hash": content_hash or product.content_hash(), "updated_at": datetime.now(timezone.utc),
    }


def _row_product(row) -> Product:
    return Product(
        id=row["id"], title=row["title"], description=row["description"] or "",
        category=[c for c in (row["category"] or "").split(" > ") if c],
        category_source=row["category_source"], brand=row["brand"], price=row["price"],
        currency=row["currency"], rating=row["rating"], image_url=row["image_url"],
        attributes={k: Attribute(**v) for k, v in (row["attributes"] or {}).items()},
    )

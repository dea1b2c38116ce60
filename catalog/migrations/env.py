"""Alembic environment: runs on the connection that ``catalog.migrate`` passes in ``config.attributes``.

By hand: ``alembic -c catalog/migrations/alembic.ini -x url=sqlite:///var/shopassist.db upgrade head``
(the server and every ``Store`` run it automatically).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from catalog.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()

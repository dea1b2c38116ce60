"""Alembic migrations of the shopassist schema (run automatically by ``catalog.migrate.migrate``)."""

"""Catalog: product/event records, file loaders and the SQL store (the ground floor)."""

"""Graded search judgments: ``query_id, query, item_id, relevance`` rows (CSV, optionally gzipped).

Read by the offline search evaluation (``eval.search_eval``) and by re-ranker training.
"""
from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from catalog.loaders import LoaderError


@dataclass
class Judgments:
    queries: dict[str, str]  # query_id -> text
    gains: dict[str, dict[str, float]]  # query_id -> item_id -> relevance


def load_judgments(path: str | Path) -> Judgments:
    """Read the judgments file; a missing column raises :class:`catalog.loaders.LoaderError`."""
    path = Path(path)
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        needed = {"query_id", "query", "item_id", "relevance"}
        if not reader.fieldnames or not needed <= set(reader.fieldnames):
            raise LoaderError(f"{path}: judgments need columns {sorted(needed)}; found {reader.fieldnames}")
        queries: dict[str, str] = {}
        gains: dict[str, dict[str, float]] = defaultdict(dict)
        for row in reader:
            queries[row["query_id"]] = row["query"]
            gains[row["query_id"]][row["item_id"]] = float(row["relevance"])
    return Judgments(queries, dict(gains))

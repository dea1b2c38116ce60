"""Converters from the shared data into the query-log format of :mod:`assistant.turn_log`
(``shopassist eval make-log``), so ``eval replay`` runs on data the shop has not logged itself.

* **Judgments** (Home Depot ``query_id, query, item_id, relevance``): one turn per query, the query
  as the shopper's message, the judged items as the turn's ``judgments`` (the outcome). Sessions are
  one per query and anonymous. The header names the catalog file, which the replay searches.
* **Sequences** (Amazon ``user, items oldest first`` + an items file): one turn per user — the
  history (at most ``history`` items) as ``purchase`` events, then the request "anything you'd
  recommend for me?", then the next item as the ``purchase`` that followed (``turn_id`` set, no
  position: the log never showed it). ``exclude_trained`` drops the users a ranker checkpoint was
  trained or validated on (``split.json`` digests); ``test_split`` keeps only the users that
  ``ranking.sequences.split_users`` (seed 42, 15 % test — the split ``train ranker`` uses) holds out,
  for a checkpoint whose split.json has no digests (the shipped demo one). Either way the replay
  measures shoppers the ranker never saw.

Timestamps are synthetic (one second apart, from 2026-01-01) and raw data-set user ids are
pseudonymised with a fixed key: the logs hold no raw ids. Each converter is deterministic.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from assistant.turn_log import EventRecord, LogHeader, TurnRecord
from catalog.privacy import pseudonymise

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CONVERTER_KEY = "shopassist-make-log"  # pseudonyms of data-set ids (not shop users)
RECOMMEND_MESSAGE = "anything you'd recommend for me?"


class _Clock:
    """Synthetic timestamps, one second apart."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return (START + timedelta(seconds=self.n)).isoformat(timespec="milliseconds")


def _write(out: Path, records: list[Any]) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json(exclude_none=True) + "\n")
    return len(records)


def _order(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda q: (0, int(q), "") if q.isdigit() else (1, 0, q))


def judgment_log(judgments: Path, catalog: Path, out: Path, catalog_map: dict[str, str] | None = None,
                 limit: int | None = None) -> dict[str, Any]:
    """Write a log of one turn per judged query (in query-id order; the first ``limit``)."""
    from eval.search_eval import load_judgments

    data = load_judgments(judgments)
    clock = _Clock()
    records: list[Any] = [LogHeader(ts=clock(), source="judgments", catalog=str(catalog), catalog_map=catalog_map or None,
                                    note=f"from {judgments}")]
    qids = _order(list(data.queries))[:limit]
    for qid in qids:
        records.append(TurnRecord(ts=clock(), turn_id=f"q{qid}", session=f"s_q{qid}", message=data.queries[qid],
                                  intent="search", route="products", judgments=data.gains[qid]))
    return {"turns": len(qids), "lines": _write(out, records), "judged_items": sum(len(data.gains[q]) for q in qids)}


def sequence_log(sequences: Path, items: Path, out: Path, items_map: dict[str, str] | None = None,
                 sequences_map: dict[str, str] | None = None, limit: int | None = None, history: int = 20,
                 exclude_trained: Path | None = None, test_split: bool = False) -> dict[str, Any]:
    """Write a log of one recommendation turn per user (file order; the first ``limit`` kept users)."""
    from ranking.sequences import load_dataset, split_users, user_digest

    data = load_dataset(items, sequences, items_map, sequences_map)
    seen: set[str] = set()
    if exclude_trained is not None:
        from ranking.checkpoint import Checkpoint

        seen = set(Checkpoint.load(exclude_trained).split_digests())
    keep = set(split_users(data.users).test) if test_split else None
    clock = _Clock()
    records: list[Any] = [LogHeader(ts=clock(), source="sequences", catalog=str(items), catalog_map=items_map or None,
                                    note=f"from {sequences}; next item = the purchase after the history")]
    turns = skipped = 0
    for raw in data.users:
        sequence = data.sequences[raw]
        if len(sequence) < 2 or user_digest(raw) in seen or (keep is not None and raw not in keep):
            skipped += 1
            continue
        if limit is not None and turns >= limit:
            break
        user = pseudonymise(raw, CONVERTER_KEY)
        session = "s_" + user[2:]
        for item in sequence[:-1][-history:]:
            records.append(EventRecord(ts=clock(), session=session, user=user, item_id=item, event="purchase"))
        turn_id = f"t{turns + 1:06d}"
        records.append(TurnRecord(ts=clock(), turn_id=turn_id, session=session, user=user, message=RECOMMEND_MESSAGE,
                                  intent="recommend", route="products"))
        records.append(EventRecord(ts=clock(), session=session, user=user, item_id=sequence[-1], event="purchase",
                                   turn_id=turn_id))
        turns += 1
    return {"turns": turns, "lines": _write(out, records), "skipped_users": skipped}

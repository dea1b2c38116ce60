"""The query-log records and writer (assistant/turn_log.py): schema, rotation, privacy, SQL sink."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from assistant.turn_log import (EventRecord, JsonlSink, SqlSink, TurnLog, TurnRecord, export_sql, log_files,
                                log_json_schema, parse_line, read_log)
from assistant.types import EscalationInfo, ProductPick, Reply, TurnTrace


def _reply():
    return Reply(session_id="s1", intent="search", route="products", slots={"price_max": 20},
                 products=[ProductPick(id="p1", title="t", score=0.91234567, explanation_source="llm"),
                           ProductPick(id="p2", title="u", score=0.5)],
                 escalation=EscalationInfo(id=3, reason="payment_problem"),
                 trace=TurnTrace(stages_ms={"understand": 2.0, "retrieve": 30.5}, search_query="red shoes"))


def test_turn_and_event_records(tmp_path):
    log = TurnLog(JsonlSink(tmp_path / "turns.jsonl"), "key")
    turn = log.turn(_reply(), "s1", "alice@example.com", "red shoes, call me on 07700 900123", total_ms=41.0)
    event = log.event("alice@example.com", "s1", "p2", "add_to_cart")
    other = log.event("alice@example.com", "s1", "p9", "click")
    text = (tmp_path / "turns.jsonl").read_text()
    assert "alice" not in text and "07700" not in text and '"s1"' not in text
    lines = [parse_line(line) for line in text.splitlines()]
    assert isinstance(lines[0], TurnRecord) and lines[0] == turn
    assert turn.user.startswith("u_") and turn.session.startswith("s_") and "[phone]" in turn.message
    assert [(s.id, s.position, s.explanation_source) for s in turn.shown] == [("p1", 1, "llm"), ("p2", 2, "template")]
    assert turn.shown[0].score == 0.91235 and turn.escalated and turn.escalation_reason == "payment_problem"
    assert turn.stages_ms == {"understand": 2.0, "retrieve": 30.5} and turn.search_query == "red shoes"
    assert isinstance(lines[1], EventRecord) and (event.turn_id, event.position) == (turn.turn_id, 2)
    assert (other.turn_id, other.position) == (None, None)  # p9 was not shown in that session
    assert event.user == turn.user


def test_schema_rejects_unknown_fields():
    schema = log_json_schema()
    assert set(schema["discriminator"]["mapping"]) == {"turn", "event", "header"}
    with pytest.raises(ValueError):
        parse_line(json.dumps({"kind": "turn", "ts": "x", "turn_id": "t", "session": "s", "message": "m",
                               "intent": "i", "route": "r", "raw_user": "alice"}))


def test_rotation_keeps_backups_and_reads_oldest_first(tmp_path):
    path = tmp_path / "turns.jsonl"
    log = TurnLog(JsonlSink(path, max_bytes=1200, backups=2), "key")
    ids = [log.turn(_reply(), f"s{i}", None, f"message {i}").turn_id for i in range(8)]
    files = log_files(path)
    assert [f.name for f in files] == ["turns.jsonl.2", "turns.jsonl.1", "turns.jsonl"]
    assert all(f.stat().st_size <= 1200 for f in files)
    kept = [r.turn_id for r in read_log(path)]
    assert kept == ids[-len(kept):] and len(kept) < 8  # the oldest were rotated away, order kept


def test_sql_sink_and_export(tmp_path):
    from catalog.store import Store

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")  # migrations create turn_log
    log = TurnLog(SqlSink(store.engine), "key")
    turn = log.turn(_reply(), "s1", "bob", "hello")
    log.event("bob", "s1", "p1", "purchase")
    out = tmp_path / "export.jsonl"
    assert export_sql(create_engine(store.engine.url), out) == 2
    records = read_log(out)
    assert records[0] == turn and records[1].position == 1

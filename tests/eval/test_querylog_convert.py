"""make-log converters on tiny real files (tests/fixtures/querylog)."""
from __future__ import annotations

from pathlib import Path

from assistant.turn_log import EventRecord, LogHeader, TurnRecord, read_log
from eval.querylog_convert import RECOMMEND_MESSAGE, judgment_log, sequence_log

FIX = Path(__file__).parents[1] / "fixtures" / "querylog"


def test_judgments_become_one_turn_per_query(tmp_path):
    out = tmp_path / "log.jsonl"
    done = judgment_log(FIX / "judgments.csv", FIX.parent / "mini_catalog.jsonl", out)
    assert done == {"turns": 2, "lines": 3, "judged_items": 3}
    header, *turns = read_log(out)
    assert isinstance(header, LogHeader) and header.source == "judgments"
    assert header.catalog.endswith("mini_catalog.jsonl")
    assert [t.turn_id for t in turns] == ["q2", "q10"]  # numeric query-id order
    assert turns[1].message == "thomas train" and turns[1].user is None
    assert turns[1].judgments == {"toy-5c74f6dbd705": 3.0, "toy-87bbb472ef9d": 2.0}
    assert turns[0].ts < turns[1].ts


def test_sequences_history_then_turn_then_purchase(tmp_path):
    out = tmp_path / "log.jsonl"
    done = sequence_log(FIX / "sequences.csv", FIX / "items.csv", out, history=1)
    assert done["turns"] == 2  # RAWUSER2 has one item: nothing to predict (the loader drops it)
    records = read_log(out)
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["LogHeader", "EventRecord", "TurnRecord", "EventRecord", "EventRecord", "TurnRecord", "EventRecord"]
    first_history, turn, outcome = records[1], records[2], records[3]
    assert isinstance(turn, TurnRecord) and turn.message == RECOMMEND_MESSAGE
    assert first_history.item_id == "I2"  # history=1 keeps the newest history item of I1 I2
    assert isinstance(outcome, EventRecord) and outcome.item_id == "I3" and outcome.turn_id == turn.turn_id
    assert turn.user.startswith("u_") and "RAWUSER" not in out.read_text()


def test_sequences_test_split_keeps_only_held_out_users(tmp_path):
    from ranking.sequences import split_users

    out = tmp_path / "log.jsonl"
    done = sequence_log(FIX / "sequences.csv", FIX / "items.csv", out, test_split=True)
    held_out = split_users(["RAWUSER1", "RAWUSER3"]).test  # round(2 * 0.15) = 0 users
    assert done["turns"] == len(held_out) == 0

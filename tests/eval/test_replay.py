"""eval/replay.py on a hand-made log with a fake assistant: every number checked by hand."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from assistant.agent import AssistantInputError
from assistant.turn_log import read_log
from assistant.types import ProductPick, Reply, TurnTrace
from eval.replay import compare, ordered, run_log, summarise

LOG = Path(__file__).parents[1] / "fixtures" / "querylog" / "fake_log.jsonl"
SHOWS = {"trains": ["B", "A", "D", "E", "F"], "lego": ["X", "Y"], "thomas": ["B", "A", "D"]}
KNOWN = {"A", "B", "C", "D", "E", "F", "X", "Y", "Z"}


class FakeAssistant:
    """Shows a fixed list per message; 'boom' fails; events on unknown items are refused."""

    def __init__(self, shows=SHOWS) -> None:
        self.shows, self.events, self.calls = shows, [], []

    def respond(self, session_id, message, user_id=None):
        self.calls.append((session_id, message, user_id, len(self.events)))
        if message == "boom":
            raise RuntimeError("the model fell over")
        products = [ProductPick(id=i, title=i, score=1.0, explanation_source="llm" if n == 0 else "template")
                    for n, i in enumerate(self.shows[message])]
        return Reply(session_id=session_id, intent="search", route="products", products=products,
                     trace=TurnTrace(stages_ms={"understand": 1.0, "retrieve": 10.0, "rerank": 20.0}))

    def record_event(self, user_id, item_id, kind, session_id=None, value=None):
        if item_id not in KNOWN:
            raise AssistantInputError(f"unknown product id {item_id!r}")
        self.events.append((user_id, item_id, kind))


def _run(shows=SHOWS):
    header, records = ordered(read_log(LOG))
    fake = FakeAssistant(shows)
    run = run_log(fake, records)
    return header, fake, run, summarise(run["rows"])


def test_replay_in_timestamp_order_feeding_events():
    header, fake, run, _ = _run()
    assert header.source == "server"
    # t2 (ts 3 s) runs before the click logged earlier in the file (ts 4 s); t1 saw no event yet,
    # t2 saw the purchase of A that followed t1
    assert [(c[1], c[3]) for c in fake.calls] == [("trains", 0), ("lego", 1), ("thomas", 2), ("boom", 2)]
    assert fake.calls[0][2] == "u_a" and fake.calls[2][2] is None
    assert run["fed_events"] == 2 and run["skipped_events"] == 1  # NOPE is not in the catalog


def test_quality_hand_computed():
    _, _, run, result = _run()
    assert result["turns"] == 4 and result["failed"] == 1
    assert result["errors"] == [{"turn_id": "t4", "error": "RuntimeError: the model fell over"}]
    q = result["quality"]
    # t1: bought A, replay shows it 2nd (logged: 1st); t2: clicked Z (no turn_id: the session's last turn), never shown
    assert q["outcome_turns"] == 2
    assert q["hr@5"]["mean"] == pytest.approx((1 + 0) / 2)
    assert q["ndcg@5"]["mean"] == pytest.approx((1 / math.log2(3) + 0) / 2, abs=1e-5)
    assert q["logged_hr@5"] == pytest.approx(0.5) and q["logged_ndcg@5"] == pytest.approx(0.5)
    # t3: judgments A=3, B=2, C=0; shown B, A, D -> DCG = 2/1 + 3/log2(3); ideal = 3/1 + 2/log2(3)
    assert q["judged_turns"] == 1
    expected = (2 + 3 / math.log2(3)) / (3 + 2 / math.log2(3))
    assert q["judged_ndcg@10"]["mean"] == pytest.approx(expected, abs=1e-5)
    assert round(expected, 4) == 0.9134
    # the turn whose outcome moved: t1 (1.0 -> 0.6309); t2 did not move
    assert [c["turn_id"] for c in result["changed_most"]] == ["t1"]


def test_stages_sources_routes():
    _, _, _, result = _run()
    assert result["stages"]["understand"] == {"p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0, "samples": 3}
    assert result["stages"]["rerank"]["p50_ms"] == 20.0
    assert result["stages"]["explain"] == {"p50_ms": None, "p95_ms": None, "p99_ms": None, "samples": 0}
    # 5 + 2 + 3 shown, the first of each list from the LLM
    assert result["explanation_sources"] == {"llm": 3, "template": 7, "llm_share": 0.3}
    assert result["routes"] == {"products": 3, "failed": 1}
    assert result["escalation_rate"] == 0.0


def test_same_log_twice_same_quality():
    assert _run()[3]["quality"] == _run()[3]["quality"]


def test_compare_pairs_turns(tmp_path):
    import json

    for name, shows in (("a", SHOWS), ("b", {**SHOWS, "trains": ["A", "B"]})):
        _, _, run, _ = _run(shows)
        summarise(run["rows"])
        (tmp_path / name).mkdir()
        (tmp_path / name / "turns.jsonl").write_text("".join(json.dumps(r) + "\n" for r in run["rows"]))
    diff = compare(tmp_path / "a", tmp_path / "b")
    assert diff["common_turns"] == 4
    # only t1 differs: NDCG@5 1/log2(3) in a vs 1.0 in b, t2 equal (0 vs 0): mean diff over 2 pairs
    assert diff["quality"]["ndcg@5"]["diff"] == pytest.approx((1 / math.log2(3) - 1.0) / 2, abs=1e-5)
    assert diff["quality"]["ndcg@5"]["pairs"] == 2
    assert diff["changed_most"][0]["turn_id"] == "t1"


def test_winner_line_hand_computed():
    from eval.report import winner_line

    task = {"task": "t", "primary": "ndcg@10",
            "systems": {"a": {"ndcg@10": {"mean": 0.5}}, "b": {"ndcg@10": {"mean": 0.4}}},
            "per_item": {"a": [1.0, 0.0], "b": [0.8, 0.0]}}
    line = winner_line(task)
    assert line.startswith("- **t**: **a** wins ndcg@10 0.5000 vs b 0.4000 (+0.1000, +25.0 %)")
    assert "over 2 items" in line
    task["systems"]["b"]["ndcg@10"]["mean"] = 0.5
    assert "tie" in winner_line(task)

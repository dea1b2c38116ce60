"""``eval replay`` and ``eval report`` through the real assistant (rules only, no LLM) on the 40-product
mini catalog and a hand-written log (tests/fixtures/querylog/mini_log.jsonl)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.replay import ReplayConfig, replay

FIX = Path(__file__).parents[1] / "fixtures"
LOG = FIX / "querylog" / "mini_log.jsonl"
PNG = b"\x89PNG\r\n\x1a\n"


def _dcg(shown, gains, k):
    return sum(gains.get(item, 0.0) / math.log2(rank + 2) for rank, item in enumerate(shown[:k]))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, embedder):
    from catalog.settings import Settings

    tmp = tmp_path_factory.mktemp("replay")
    config = ReplayConfig(llm=False, ranker=False, cache_dir=str(tmp / "cache"))
    settings = Settings(data_dir=tmp / "var", torch_threads=1)
    runs = [replay(LOG, tmp / f"out{i}", config, settings=settings, catalog=FIX / "mini_catalog.jsonl",
                   embedder=embedder) for i in range(2)]
    return tmp, runs


def test_replay_json_shape_and_no_failed_turn(replayed):
    tmp, (first, _) = replayed
    written = json.loads((tmp / "out0" / "replay.json").read_text())
    assert written["turns"] == 5 and written["failed"] == 0
    assert set(written["stages"]) == {"understand", "retrieve", "rerank", "explain"}
    for stage in ("understand", "retrieve"):
        assert set(written["stages"][stage]) >= {"p50_ms", "p95_ms", "p99_ms"}
        assert written["stages"][stage]["samples"] == 5
    assert written["stages"]["rerank"]["samples"] == 0  # ranker off in this configuration
    assert written["quality"]["outcome_turns"] == 3 and written["quality"]["judged_turns"] == 1
    assert written["explanation_sources"]["template"] > 0 and written["explanation_sources"]["llm_share"] == 0.0
    assert written["exposure"]["catalog_items"] == 40


def test_quality_is_the_metric_of_the_replayed_lists(replayed):
    tmp, (first, _) = replayed
    rows = [json.loads(line) for line in (tmp / "out0" / "turns.jsonl").read_text().splitlines()]
    by_id = {r["turn_id"]: r for r in rows}
    assert by_id["m1"]["outcomes"] == ["toy-5c74f6dbd705"]  # add_to_cart with the turn id
    assert by_id["m3"]["outcomes"] == ["toy-2fdda634d1d7"]  # purchase without one: the session's last turn
    assert by_id["m2"]["outcomes"] == []
    hits = [float(r["outcomes"][0] in r["shown"][:5]) for r in rows if r["outcomes"]]
    assert first["quality"]["hr@5"]["mean"] == pytest.approx(sum(hits) / len(hits), abs=1e-5)
    judged = by_id["m4"]
    ideal = _dcg(sorted(judged["judgments"], key=lambda i: -judged["judgments"][i]), judged["judgments"], 10)
    expected = _dcg(judged["shown"], judged["judgments"], 10) / ideal
    assert first["quality"]["judged_ndcg@10"]["mean"] == pytest.approx(expected, abs=1e-5)


def test_same_log_twice_same_quality(replayed):
    _, (first, second) = replayed
    assert first["quality"] == second["quality"]
    assert first["exposure"] == second["exposure"]


def test_report_on_a_tiny_config(replayed, tmp_path, monkeypatch):
    from eval.replay import compare
    from eval.report import run_report

    tmp, _ = replayed
    diff = compare(tmp / "out0", tmp / "out1")
    assert diff["common_turns"] == 5 and all(row["diff"] == 0 for row in diff["quality"].values())
    (tmp_path / "noranker.toml").write_text(f'[replay]\nllm = false\nranker = false\ncache_dir = "{tmp / "cache"}"\n')
    (tmp_path / "fusion.toml").write_text(f'[replay]\nllm = false\nranker = false\ncache_dir = "{tmp / "cache"}"\n'
                                          '[fusion]\ndense_weight = 0.0\n')
    log = tmp_path / "log.jsonl"  # the header names the catalog, as make-log writes it
    lines = LOG.read_text().splitlines()
    header = json.loads(lines[0])
    header["catalog"] = str(FIX / "mini_catalog.jsonl")
    log.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    (tmp_path / "report.toml").write_text(f'''
[report]
title = "tiny"
[[task]]
name = "replay-mini"
kind = "replay"
log = "{log}"
systems = {{ hybrid = "{tmp_path / 'noranker.toml'}", bm25 = "{tmp_path / 'fusion.toml'}" }}
[[task]]
name = "ranker-training"
kind = "ranker_curve"
run = "{Path(__file__).parents[2] / 'ranking' / 'models' / 'demo' / '20261201-101452'}"
''')
    monkeypatch.setenv("SHOPASSIST_DATA_DIR", str(tmp / "var"))
    monkeypatch.setenv("SHOPASSIST_TORCH_THREADS", "1")
    out = tmp_path / "report"
    report = run_report(tmp_path / "report.toml", out, echo=lambda _: None)
    md = (out / "report.md").read_text()
    assert md.splitlines()[2].startswith("- **replay-mini**: ")  # the first lines name the winner
    assert any(word in report["headline"][0] for word in ("wins", "tie", "one system"))
    for name in ("metrics.png", "latency.png", "scaling.png", "ranker_curve.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, name
    saved = json.loads((out / "report.json").read_text())
    assert [t["task"] for t in saved["tasks"]] == ["replay-mini", "ranker-training"]
    # resumed: the second run takes every task from the cache
    again = run_report(tmp_path / "report.toml", out, echo=lambda _: None)
    assert all(t["cached"] for t in again["tasks"]) and again["headline"] == report["headline"]

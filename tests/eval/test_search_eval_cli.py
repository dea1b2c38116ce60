"""The `shopassist eval search` contract on a tiny catalog: JSON shape, sane metrics, cached indexes."""
import json

from typer.testing import CliRunner

import retrieval.catalog_cache as catalog_cache
from ui.cli import build_app

JUDGMENTS = """query_id,query,item_id,relevance
1,thomas engine,toy-5c74f6dbd705,3
1,thomas engine,toy-d19c9fca1b53,3
1,thomas engine,fk-f449ec65dcbc,1
2,bnc wire connector,fk-e9eb010ed831,3
2,bnc wire connector,fk-d8dfa5cfc972,3
3,womens bellies,fk-f449ec65dcbc,3
3,womens bellies,fk-e54bc0a7c342,2.67
"""


def test_eval_search_writes_the_contract_json_and_reuses_its_cache(tmp_path, mini_catalog_path, monkeypatch):
    judgments = tmp_path / "judgments.csv"
    judgments.write_text(JUDGMENTS)
    out = tmp_path / "result.json"
    args = ["eval", "search", "--catalog", str(mini_catalog_path), "--judgments", str(judgments),
            "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert (data["queries"], data["items"]) == (3, 40) and 0 < data["queries_with_relevant"] <= 3
    assert set(data["systems"]) == {"bm25", "dense", "hybrid"}
    for metrics in data["systems"].values():
        assert set(metrics) == {"ndcg@10", "recall@100", "mrr@10", "rerank-ndcg@10",
                                "recall@100 (all queries)", "mrr@10 (all queries)"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert data["systems"]["bm25"]["mrr@10"] > 0.5  # exact words: BM25 finds them
    assert "hybrid" in result.output and "ndcg@10" in result.output

    def no_ingest(*a, **k):
        raise AssertionError("second run must reuse the cached indexes")

    monkeypatch.setattr(catalog_cache, "ingest_products", no_ingest)
    again = CliRunner().invoke(build_app(), args)
    assert again.exit_code == 0, again.output
    assert json.loads(out.read_text())["systems"] == data["systems"]


def test_eval_search_rejects_bad_judgments(tmp_path, mini_catalog_path):
    bad = tmp_path / "j.csv"
    bad.write_text("q,item\n1,2\n")
    result = CliRunner().invoke(build_app(), ["eval", "search", "--catalog", str(mini_catalog_path),
                                              "--judgments", str(bad), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "judgments need columns" in result.output

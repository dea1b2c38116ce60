"""eval.search_rewrite on the small real Home Depot sample (real BM25, real packaged MiniLM)."""
import json
from pathlib import Path

from eval.search_rewrite import main

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small"


def test_rewrite_eval_reports_both_folds_and_all_variants(tmp_path):
    out = tmp_path / "r.json"
    result = main(["--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
                   "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert sum(result["queries"].values()) == 40 and result["queries"]["held-out"] > 0
    assert result["catalog_words"] > 1000  # counted from the 757 titles, not from the queries
    variants = ("typed", "rewritten bm25, typed dense", "rewritten bm25 and dense")
    for fold in ("dev", "held-out"):
        # the dense side reads the query as typed in the first two: identical numbers
        assert result[variants[0]][fold]["dense"] == result[variants[1]][fold]["dense"]
        for variant in variants:
            for system in ("bm25", "dense", "hybrid"):
                assert 0.0 <= result[variant][fold][system]["ndcg@10"] <= 1.0
    assert 0 <= result["rewritten_queries"]["dev"] <= result["queries"]["dev"]

"""Search metrics over queries: Recall and MRR average only the queries that have a relevant item."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from eval.search_eval import evaluate
from retrieval.fusion import FusionConfig
from retrieval.judgments import Judgments
from retrieval.rerank_features import Candidates


def test_queries_without_a_relevant_item_do_not_drag_recall_and_mrr_to_zero():
    judged = Judgments(queries={"q1": "drill", "q2": "saw"},
                       gains={"q1": {"a": 3.0, "b": 1.0}, "q2": {"c": 2.0}})  # q2: nothing relevant (>= 2.5)
    candidates = {"q1": Candidates(["b", "a"], {"b": 1.0, "a": 0.5}, {"b": 1.0, "a": 0.5}, {}),
                  "q2": Candidates(["c"], {"c": 1.0}, {"c": 1.0}, {})}
    search = SimpleNamespace(fusion=FusionConfig())
    hybrid = evaluate(search, judged, systems=("hybrid",), progress=False, candidates=candidates)["hybrid"]
    assert hybrid["recall@100"] == 1.0 and hybrid["recall@100 (all queries)"] == 0.5
    assert hybrid["mrr@10"] == 0.5 and hybrid["mrr@10 (all queries)"] == 0.25
    assert hybrid["ndcg@10"] == pytest.approx(((1 + 3 / 1.585) / (3 + 1 / 1.585) + 1.0) / 2, abs=1e-3)  # NDCG keeps every query

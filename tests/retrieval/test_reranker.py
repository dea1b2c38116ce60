"""The learned re-ranker on a small real Home Depot sample (tests/fixtures/homedepot_small):
features, training with query-level folds, serving through ProductSearch, broken or missing models."""
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from catalog.records import Product
from retrieval.catalog_cache import cached_candidates, file_hash, open_cached_search
from retrieval.judgments import load_judgments
from retrieval.rerank_features import FEATURES, Candidates, Featurizer
from retrieval.rerank_train import _reordered, build_dataset, ndcg10, train
from retrieval.reranker import Reranker, load_newest
from retrieval.search import FusionConfig, ProductSearch

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small"


def feature(rows: np.ndarray, row: int, name: str) -> float:
    return float(rows[row, FEATURES.index(name)])


def test_features_read_terms_numbers_and_units():
    products = {"pipe": Product(id="pipe", title="1/2 in. x 10 ft. PVC Sch. 40 Plain-End Pipe"),
                "elbow": Product(id="elbow", title="Carlon 2-1/2 in. 90-Degree Schedule 40 PVC Elbow"),
                "pot": Product(id="pot", title="12 in. Dia. Dark Blue Ceramic Rivage Pot", brand="Rivage")}
    cands = Candidates(["elbow", "pipe", "pot"], {"elbow": 1.2, "pipe": 0.6, "pot": 0.3},
                       {"elbow": 9.0, "pipe": 4.5}, {"pot": 0.5, "elbow": 0.4})
    rows = Featurizer().rows("1/2 in. elbow schedule 40 pvc", cands, products)
    assert rows.shape == (3, len(FEATURES))
    assert feature(rows, 0, "fused_rank") == 0 and feature(rows, 2, "fused_rank") == 2
    assert feature(rows, 1, "bm25_rel") == pytest.approx(0.5)
    assert feature(rows, 2, "in_bm25") == 0 and feature(rows, 2, "bm25") == pytest.approx(4.5)  # the list's floor
    assert feature(rows, 1, "in_dense") == 0 and feature(rows, 0, "dense_rank") == 1
    # every query word is in the elbow's title; the pipe lacks "elbow" and "schedule" (4 of 6 terms)
    assert feature(rows, 0, "q_in_title") == 1.0
    assert feature(rows, 1, "q_in_title") == pytest.approx(4 / 6)
    assert feature(rows, 0, "last_in_title") == 1.0 and feature(rows, 0, "phrase") == 0.0
    # "1/2 in." is in the pipe's title, but the elbow is 2-1/2 in.: same numbers, other size
    assert feature(rows, 1, "units_in_title") == 1.0 and feature(rows, 0, "units_in_title") == 0.0
    assert feature(rows, 0, "numbers_in_title") == 1.0
    assert feature(rows, 2, "brand_match") == 0.0 and feature(rows, 0, "brand_match") == -1.0
    assert feature(rows, 0, "category_match") == -1.0  # Home Depot products have no category


def test_features_read_the_rewritten_query_and_list_relative_gaps():
    products = {"seat": Product(id="seat", title="Porcelain Toilet Seat with Hinge"),
                "hinge": Product(id="hinge", title="Cabinet Hinge 2 in."),
                "pot": Product(id="pot", title="Ceramic Planter Pot")}
    typed, rewritten = "porcelian toilt seat", "porcelain toilet seat"  # made-up typos
    fused = {"seat": 1.0, "hinge": 0.5, "pot": 0.2}
    plain = Candidates(["seat", "hinge", "pot"], fused, {"seat": 5.0}, {})
    fixed = Candidates(["seat", "hinge", "pot"], fused, {"seat": 5.0}, {}, query=rewritten)
    rows_plain, rows_fixed = Featurizer().rows(typed, plain, products), Featurizer().rows(typed, fixed, products)
    # the term features read the rewritten query: every word is in the seat's title only then
    assert feature(rows_fixed, 0, "q_in_title") == 1.0 and feature(rows_plain, 0, "q_in_title") == pytest.approx(1 / 3)
    assert feature(rows_fixed, 0, "q_rewritten") == 1.0 and feature(rows_plain, 0, "q_rewritten") == 0.0
    # the typed trigrams are the same either way (the typo signal stays)
    assert feature(rows_fixed, 0, "typed_trigrams_in_title") == feature(rows_plain, 0, "trigrams_in_title")
    # gaps: 0 for the best title, below 0 for the others
    assert feature(rows_fixed, 0, "q_in_title_gap") == 0.0
    assert feature(rows_fixed, 2, "q_in_title_gap") == pytest.approx(-1.0)
    assert feature(rows_fixed, 1, "idf_in_title_gap") < 0.0
    assert feature(rows_fixed, 0, "units_gap") == 0.0  # no size in the query: -1 for all, gap 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory, embedder):
    """The sample ingested once, its candidates, and a re-ranker trained on its 40 queries."""
    root = tmp_path_factory.mktemp("rerank")
    catalog, judged = SAMPLE / "products.csv", load_judgments(SAMPLE / "judgments.csv")
    search, items, _ = open_cached_search(catalog, None, root / "cache", embedder, FusionConfig())
    candidates = cached_candidates(search, judged.queries, root / "cache" / file_hash(catalog, None), progress=False)
    products = {p.id: p for p in search.store.iter_products()}
    data = build_dataset(judged.queries, judged.gains, candidates, products, search.lexical, depth=100, progress=False)
    version = train(data, root / "models", depth=100, folds=2, threads=1, rounds=60, echo=lambda _: None)
    return {"root": root, "search": search, "data": data, "version": version, "judged": judged, "items": items,
            "candidates": candidates}


def test_training_writes_a_version_that_beats_bm25_on_its_training_queries(trained):
    data, version = trained["data"], trained["version"]
    assert trained["items"] == 757 and len(data.keys) == 40
    meta = json.loads((version / "meta.json").read_text())
    assert meta["features"] == list(FEATURES) and meta["cv"]["folds"] == 2 and meta["cv"]["queries"] == 40
    assert {p.name for p in version.iterdir()} == {"model.txt", "fold-0.txt", "fold-1.txt", "meta.json"}
    assert set(meta["query_folds"].values()) == {0, 1}
    model = Reranker.load(version).model
    rerank = np.mean([ndcg10(_reordered(model, data, i), data.gains[i]) for i in range(len(data.keys))])
    bm25 = np.mean([ndcg10(list(c.bm25), data.gains[i]) for i, c in enumerate(data.candidates)])
    assert rerank > bm25
    labels = np.concatenate(data.labels)
    assert labels.max() == 9 and set(np.unique(labels)) <= set(range(10))  # relevance 3.0 -> 9, unjudged 0


def test_cross_validated_scoring_uses_the_fold_that_did_not_train_on_the_query(trained):
    reranker = Reranker.load(trained["version"], with_folds=True)
    query = next(iter(trained["judged"].queries.values()))
    fold = reranker.fold_of(query)
    assert fold in (0, 1) and reranker.fold_of("a query nobody judged") is None
    qid = next(iter(trained["judged"].queries))
    cands = trained["candidates"][qid]
    products = trained["search"].store.get_products(cands.order[:100])
    _, cv_scores = reranker.reorder(query, cands, products, trained["search"].lexical, cross_validated=True)
    rows = reranker.featurizer.rows(query, cands, products, trained["search"].lexical, depth=100)
    expected = reranker.folds[fold].predict(rows)
    assert [cv_scores[pid] for pid in cands.order[:100]] == pytest.approx(list(expected))


def test_search_serves_the_newest_good_reranker(trained, embedder, tmp_path):
    from catalog.settings import Settings

    folder = trained["search"].store.url.removeprefix("sqlite:///")
    settings = Settings(data_dir=Path(folder).parent, search_reranker_dir=trained["root"] / "models")
    search = ProductSearch.from_settings(settings, embedder=embedder)
    assert search.reranker is not None and search.reranker.folder == trained["version"]
    hits = search.search("1/2 in. elbow schedule 40 pvc", k=10)
    assert len(hits) == 10 and all("rerank" in h.scores for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    plain = Settings(data_dir=settings.data_dir, search_reranker=False)
    assert ProductSearch.from_settings(plain, embedder=embedder).reranker is None
    one = Settings(data_dir=settings.data_dir, search_reranker_dir=trained["version"])  # a version folder itself
    assert ProductSearch.from_settings(one, embedder=embedder).reranker.folder == trained["version"]


def test_missing_or_corrupt_reranker_means_plain_hybrid_with_a_log_line(trained, embedder, tmp_path, caplog):
    from catalog.settings import Settings

    data_dir = Path(trained["search"].store.url.removeprefix("sqlite:///")).parent
    caplog.set_level(logging.INFO, logger="retrieval.reranker")
    missing = Settings(data_dir=data_dir, search_reranker_dir=tmp_path / "nothing-here")
    search = ProductSearch.from_settings(missing, embedder=embedder)
    assert search.reranker is None and "search is plain hybrid" in caplog.text
    assert search.search("pole saw", k=5) and "rerank" not in search.search("pole saw", k=5)[0].scores

    broken = tmp_path / "broken" / "20990101-000000-dead"
    broken.mkdir(parents=True)
    meta = json.loads((trained["version"] / "meta.json").read_text())
    (broken / "meta.json").write_text(json.dumps(meta))
    (broken / "model.txt").write_text("tree\nnot a model\n")
    caplog.clear()
    assert load_newest(tmp_path / "broken") is None
    assert "unreadable" in caplog.text and "plain hybrid" in caplog.text
    (broken / "meta.json").write_text("{not json")
    assert load_newest(tmp_path / "broken") is None

    # a newer corrupt version does not hide an older good one
    good = tmp_path / "broken" / trained["version"].name
    good.mkdir()
    for f in trained["version"].iterdir():
        (good / f.name).write_bytes(f.read_bytes())
    assert load_newest(tmp_path / "broken").folder == good


def test_a_reranker_that_fails_at_query_time_falls_back_to_hybrid(trained, embedder, caplog):
    class Exploding:
        depth = 100

        def reorder(self, *args, **kwargs):
            raise ValueError("boom")

    search = trained["search"]
    search.reranker = Exploding()
    try:
        hits = search.search("pole saw", k=5)
    finally:
        search.reranker = None
    assert len(hits) == 5 and "rerank" not in hits[0].scores and "re-ranker failed" in caplog.text


def test_eval_search_reports_cross_validated_hybrid_rerank(trained, tmp_path):
    from ui.cli import build_app

    out = tmp_path / "result.json"
    args = ["eval", "search", "--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
            "--out", str(out), "--cache-dir", str(trained["root"] / "cache"), "--reranker", str(trained["root"] / "models")]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["systems"]) == {"bm25", "dense", "hybrid", "hybrid+rerank"}
    assert data["reranker"]["queries_cross_validated"] == 40 and "cross-validation" in data["reranker"]["protocol"]
    # the eval recomputes exactly the training's cross-validated number
    assert data["systems"]["hybrid+rerank"]["ndcg@10"] == pytest.approx(data["reranker"]["training_cv"]["ndcg@10"], abs=1e-4)
    # the same candidates: re-ordering the top 100 keeps Recall@100
    assert data["systems"]["hybrid+rerank"]["recall@100"] == data["systems"]["hybrid"]["recall@100"]


def test_train_reranker_command_writes_a_version(trained, tmp_path):
    from ui.cli import build_app

    args = ["train", "reranker", "--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
            "--out", str(tmp_path / "models"), "--cache-dir", str(trained["root"] / "cache"), "--folds", "2",
            "--rounds", "40", "--threads", "1"]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "cross-validated NDCG@10 over 40 queries" in result.output
    (version,) = [p for p in (tmp_path / "models").iterdir()]
    assert (version / "model.txt").is_file() and not any(p.name.startswith(".") for p in (tmp_path / "models").iterdir())

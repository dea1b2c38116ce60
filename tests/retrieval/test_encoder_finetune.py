"""Fine-tuning the dense encoder (`shopassist train encoder`) on the small real Home Depot sample:
training triples and the held-out split, a killed run resumes from its checkpoint, the fine-tuned
encoder beats the packaged one on its training queries, and serving picks it only when it is good,
loadable and fully indexed (else the packaged encoder, with a log line)."""
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from catalog.settings import Settings
from retrieval.catalog_cache import open_cached_search
from retrieval.encoder_commands import dense_metrics
from retrieval.encoder_finetune import FinetuneConfig, is_heldout, latest_checkpoint, training_triples
from retrieval.encoder_versions import collection_for
from retrieval.encoders import make_embedder
from retrieval.ingest import ingest_file
from retrieval.judgments import load_judgments
from retrieval.search import FusionConfig, ProductSearch
from retrieval.vector_index import VectorIndex, open_client
from ui.cli import build_app

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small"


def test_triples_skip_heldout_queries_and_prefer_judged_irrelevant_negatives():
    config = FinetuneConfig(max_positives=2, unjudged_from=1, unjudged_to=3)
    queries = {str(i): f"query number {i}" for i in range(40)}
    texts = {p: f"title {p}" for p in "abcdefgh"}
    gains = {q: {"a": 3.0, "b": 2.67, "c": 2.0, "d": 1.0} for q in queries}
    gains["0"] = {"a": 3.0}  # nothing judged low: unjudged negatives from BM25 ranks 1..2 only
    bm25 = {q: ["a", "e", "d", "f", "g"] for q in queries}
    triples = training_triples(queries, gains, texts, bm25, config)
    trained = {q for q, _, _ in triples}
    held = {t for t in queries.values() if is_heldout(t, config)}
    assert held and trained == set(queries.values()) - held
    for query, pos, neg in triples:
        assert pos in ("title a", "title b")  # relevance >= 2.33, best first, at most 2
        if query == "query number 0":
            assert neg in ("title e", "title d")  # unjudged, ranks 1..2 of BM25 ("a" at rank 0 is judged)
        else:
            assert neg == "title d"  # judged 1.0: a real negative, preferred over unjudged ones


@pytest.fixture(scope="module")
def trained(tmp_path_factory, embedder):
    """`train encoder` on the sample: first stopped by its time limit, then resumed to the end."""
    root = tmp_path_factory.mktemp("encoder")
    env = {"SHOPASSIST_DATA_DIR": str(root / "data"), "SHOPASSIST_TORCH_THREADS": "2"}
    args = ["train", "encoder", "--catalog", str(SAMPLE / "products.csv"), "--judgments",
            str(SAMPLE / "judgments.csv"), "--cache-dir", str(root / "cache"), "--epochs", "4",
            "--batch-size", "16", "--learning-rate", "1e-4", "--save-steps", "100"]
    first = CliRunner().invoke(build_app(), args + ["--time-limit", "0"], env=env)
    runs = list((root / "data" / "models" / "encoder").glob(".run-*"))
    checkpoint = latest_checkpoint(runs[0] / "checkpoints") if runs else None
    second = CliRunner().invoke(build_app(), args, env=env)
    versions = [p for p in (root / "data" / "models" / "encoder").iterdir() if not p.name.startswith(".")]
    return {"root": root, "first": first, "checkpoint": checkpoint, "second": second, "versions": versions}


def test_a_stopped_run_resumes_from_its_checkpoint(trained):
    assert trained["first"].exit_code == 3, trained["first"].output
    assert "run again to resume" in trained["first"].output
    assert trained["checkpoint"] is not None and trained["checkpoint"].name == "checkpoint-1"
    assert trained["second"].exit_code == 0, trained["second"].output
    assert "resuming from checkpoint-1" in trained["second"].output
    assert len(trained["versions"]) == 1


def test_finetuned_encoder_beats_the_packaged_one_on_its_training_queries(trained, embedder):
    version = trained["versions"][0]
    meta = json.loads((version / "meta.json").read_text())
    assert meta["steps"] == meta["max_steps"] >= 4 * int(np.ceil(meta["triples"] / 16)) - 4
    held = meta["heldout"]
    assert held["queries"] > 0 and {"dense_ndcg@10_packaged", "dense_ndcg@10_finetuned"} <= set(held)
    assert meta["good"] == (held["dense_ndcg@10_finetuned"] > held["dense_ndcg@10_packaged"])
    judged = load_judgments(SAMPLE / "judgments.csv")
    config = FinetuneConfig()
    train_queries = {q: t for q, t in judged.queries.items() if not is_heldout(t, config)}
    cache = trained["root"] / "cache"
    packaged, _, _ = open_cached_search(SAMPLE / "products.csv", None, cache, embedder, FusionConfig())
    tuned_embedder = make_embedder(Settings(data_dir=trained["root"] / "data"), model_path=version)
    tuned, _, build_s = open_cached_search(SAMPLE / "products.csv", None, cache, tuned_embedder, FusionConfig())
    assert build_s < 2  # `train encoder` already re-embedded the catalog into this collection
    assert tuned.vectors.name == collection_for(version) != packaged.vectors.name
    assert tuned.vectors.count() == packaged.vectors.count() == 757
    before, after = dense_metrics(packaged, train_queries, judged.gains), dense_metrics(tuned, train_queries,
                                                                                         judged.gains)
    assert after[0] > before[0] + 0.02, (before, after)


def _fake_collection(settings: Settings, folder: Path, products_hashes: dict[str, str]) -> None:
    """A complete collection for ``folder`` (random vectors with the store's hashes)."""
    vectors = VectorIndex(open_client(settings.data_dir / "chroma"), collection_for(folder))
    ids = sorted(products_hashes)
    matrix = np.random.default_rng(0).normal(size=(len(ids), 384)).astype(np.float32)
    vectors.upsert(ids, matrix, [products_hashes[i] for i in ids])


def test_serving_uses_a_good_complete_finetuned_encoder_else_the_packaged_one(trained, embedder, tmp_path,
                                                                               mini_catalog_path, caplog):
    settings = Settings(data_dir=tmp_path / "data")
    ingest_file(settings, mini_catalog_path, progress=False, embedder=embedder, enrich=False)
    root = settings.data_dir / "models" / "encoder"
    root.mkdir(parents=True)
    caplog.set_level(logging.INFO, logger="retrieval.encoder_versions")

    search = ProductSearch.from_settings(settings)  # nothing fine-tuned: packaged, one log line
    assert search.embedder.name == embedder.name and "dense encoder: packaged (no fine-tuned" in caplog.text

    good = root / "20990101-000000-good"
    shutil.copytree(trained["versions"][0], good)
    meta = json.loads((good / "meta.json").read_text())
    (good / "meta.json").write_text(json.dumps({**meta, "good": True, "fusion": {"dense_weight": 0.7}}))
    caplog.clear()
    search = ProductSearch.from_settings(settings)  # good but not indexed: packaged
    assert search.embedder.name == embedder.name and "vector collection is missing" in caplog.text

    store = search.store
    _fake_collection(settings, good, store.product_hashes())
    caplog.clear()
    search = ProductSearch.from_settings(settings)
    assert Path(search.embedder.path) == good and search.vectors.name == collection_for(good)
    assert "dense encoder: fine-tuned" in caplog.text
    assert search.fusion.dense_weight == 0.7  # the fusion tuned for this encoder comes with it
    assert search.search("toy train", k=3)  # it searches its own collection

    newer = root / "20990102-000000-corrupt"  # newer, says good, indexed, but its weights are garbage
    shutil.copytree(good, newer)
    for weights in newer.glob("*.safetensors"):
        weights.write_bytes(b"not a model")
    _fake_collection(settings, newer, store.product_hashes())
    caplog.clear()
    caplog.set_level(logging.INFO, logger="retrieval.search")
    search = ProductSearch.from_settings(settings)
    assert search.embedder.name == embedder.name and "does not load" in caplog.text
    assert search.fusion.dense_weight == 0.3

    (newer / "meta.json").write_text("{broken")  # unreadable meta: skipped, the older good one serves
    caplog.clear()
    search = ProductSearch.from_settings(settings)
    assert Path(search.embedder.path) == good and "unreadable meta.json" in caplog.text


def test_eval_search_heldout_with_the_finetuned_encoder_matches_train_encoder(trained, tmp_path):
    version = trained["versions"][0]
    held = json.loads((version / "meta.json").read_text())["heldout"]
    out = tmp_path / "result.json"
    args = ["eval", "search", "--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
            "--cache-dir", str(trained["root"] / "cache"), "--encoder", str(version), "--heldout",
            "--out", str(out)]
    result = CliRunner().invoke(build_app(), args, env={"SHOPASSIST_DATA_DIR": str(trained["root"] / "data")})
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["queries"] == held["queries"] and data["queries_encoder_trained_on"] == 0
    assert data["encoder"].startswith(version.name)  # the fine-tuned model, not the packaged one
    assert data["systems"]["dense"]["ndcg@10"] == pytest.approx(held["dense_ndcg@10_finetuned"], abs=2e-3)


def test_cross_fitting_encoders_skip_more_folds_and_keep_old_run_keys():
    import hashlib
    from dataclasses import asdict

    from retrieval.encoder_finetune import is_trained_on, run_key
    from retrieval.rerank_train import fold_of
    from retrieval.reranker import query_key

    queries = {str(i): f"query number {i}" for i in range(60)}
    texts = {p: f"title {p}" for p in "ad"}
    gains = {q: {"a": 3.0, "d": 1.0} for q in queries}
    bm25 = {q: ["a", "d"] for q in queries}
    crossed = FinetuneConfig(also_held_out=(1, 2))
    trained = {q for q, _, _ in training_triples(queries, gains, texts, bm25, crossed)}
    assert trained and {fold_of(query_key(q), 5) for q in trained} <= {3, 4}
    assert all(is_trained_on(q, crossed) == (q in trained) for q in queries.values())
    about = {"catalog": "x"}
    plain = asdict(FinetuneConfig())
    del plain["also_held_out"]  # the key a run had before cross-fitting existed
    old_key = hashlib.sha256(json.dumps([about, plain], sort_keys=True).encode()).hexdigest()[:12]
    assert run_key(about, FinetuneConfig()) == old_key != run_key(about, crossed)


def test_a_cross_fit_encoder_must_have_skipped_a_fold(trained, tmp_path):
    args = ["train", "reranker", "--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
            "--cache-dir", str(trained["root"] / "cache"), "--out", str(tmp_path / "rr"), "--folds", "5",
            "--rounds", "20", "--threads", "1", "--cross-fit", str(trained["versions"][0])]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 2 and "exclude-folds" in result.output, result.output
    bad = CliRunner().invoke(build_app(), ["train", "encoder", "--catalog", str(SAMPLE / "products.csv"),
                                           "--judgments", str(SAMPLE / "judgments.csv"), "--exclude-folds", "0"])
    assert bad.exit_code == 2 and "1..4" in bad.output, bad.output


def test_train_reranker_cross_fits_dense_scores_with_an_encoder_that_skipped_folds(trained, tmp_path):
    env = {"SHOPASSIST_DATA_DIR": str(tmp_path / "data"), "SHOPASSIST_TORCH_THREADS": "2"}
    common = ["--catalog", str(SAMPLE / "products.csv"), "--judgments", str(SAMPLE / "judgments.csv"),
              "--cache-dir", str(trained["root"] / "cache")]
    made = CliRunner().invoke(build_app(), ["train", "encoder", *common, "--epochs", "1", "--batch-size", "16",
                                            "--exclude-folds", "1,2", "--out", str(tmp_path / "xfit"),
                                            "--no-index-served"], env=env)
    assert made.exit_code == 0, made.output
    version = next(p for p in (tmp_path / "xfit").iterdir() if not p.name.startswith("."))
    meta = json.loads((version / "meta.json").read_text())
    assert meta["untrained_folds"] == [0, 1, 2] and meta["config"]["also_held_out"] == [1, 2]
    result = CliRunner().invoke(build_app(), ["train", "reranker", *common, "--out", str(tmp_path / "rr"),
                                              "--rounds", "20", "--threads", "1", "--encoder", str(trained["versions"][0]),
                                              "--cross-fit", str(version)], env=env)
    assert result.exit_code == 0, result.output
    reranker = next((tmp_path / "rr").iterdir())
    about = json.loads((reranker / "meta.json").read_text())["about"]
    assert about["cross_fit"] == {make_embedder(Settings(), model_path=version).name: [1, 2]}

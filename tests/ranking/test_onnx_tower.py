"""The user tower on ONNX Runtime: the same vectors as torch, the same ranking, torch when it cannot load."""
from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from catalog.records import Event
from ranking.encoder import RecEncoder
from ranking.onnx_tower import load_onnx_tower
from ranking.ranker import Ranker, model_root

CONTEXTS = ["query: nitrile gloves | safety goggles, anti-fog ; digital caliper 6 inch",
            "query: x",
            # longer than 64 tokens: both runtimes must cut it at the same place
            " ; ".join(f"stainless steel measuring tape {n} metres with magnetic hook" for n in range(12))]


@pytest.fixture(scope="module")
def tower_pair(tmp_path_factory):
    torch_tower = RecEncoder.load(max_seq_length=64)
    onnx = load_onnx_tower(torch_tower, tmp_path_factory.mktemp("onnx") / "v1")
    assert onnx is not None
    return torch_tower, onnx


def test_onnx_vectors_equal_torch_vectors(tower_pair):
    torch_tower, onnx = tower_pair
    a, b = torch_tower.encode_contexts(CONTEXTS), onnx.encode_contexts(CONTEXTS)
    assert a.shape == b.shape == (3, 384)
    assert float((a * b).sum(axis=1).min()) >= 0.999
    long_alone = onnx.encode_contexts(CONTEXTS[2:])
    assert float(long_alone[0] @ b[2]) >= 0.9999  # batching/padding does not change a vector


def test_served_ranking_is_the_same_on_both_runtimes(settings, store, tiny_checkpoint, embedder, products, tmp_path):
    shutil.copytree(tiny_checkpoint.path, model_root(settings) / tiny_checkpoint.version)
    plain = Ranker.from_settings(settings.model_copy(update={"ranker_backend": "torch"}), store, embedder=embedder)
    fast = Ranker.from_settings(settings.model_copy(update={"ranker_backend": "onnx"}), store, embedder=embedder)
    assert plain._model.turn_tower is None and fast._model.turn_tower is not None
    for item in ("M1", "S2"):
        plain.events.add(Event(user="u1", item_id=item, kind="purchase"))
    hits = [type("Hit", (), {"product": p, "score": 1.0, "scores": {}})() for p in products]
    a = plain.rerank("u1", "gloves", hits, k=10)
    b = fast.rerank("u1", "gloves", hits, k=10)
    assert [r.product.id for r in a] == [r.product.id for r in b]
    assert np.allclose([r.score for r in a], [r.score for r in b], atol=1e-3)


def test_a_tower_that_cannot_be_exported_falls_back_to_torch(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    with caplog.at_level(logging.WARNING):
        assert load_onnx_tower(RecEncoder.load(max_seq_length=64), blocker / "v1") is None
    assert "using torch" in caplog.text


def test_search_encoders_that_are_not_the_item_tower_are_not_reused(settings, embedder):
    from ranking.ranker import _is_item_tower

    assert _is_item_tower(embedder, settings)  # the packaged torch MiniLM: shared, loaded once
    other = type("FineTuned", (), {"model": embedder.model, "path": settings.data_dir / "models" / "encoder" / "v1"})()
    onnx = type("Onnx", (), {"path": embedder.path})()  # no torch model
    assert not _is_item_tower(other, settings) and not _is_item_tower(onnx, settings)
    assert not _is_item_tower(None, settings)

"""A tiny real fine-tuning run moves the loss and leaves a loadable, versioned checkpoint."""
from __future__ import annotations

import json

from ranking.checkpoint import Checkpoint, newest_good
from ranking.encoder import RecEncoder
from ranking.recommender import Recommender
from ranking.sequences import load_dataset
from ranking.train import TrainConfig, build_examples, example_loss, fine_tune


def test_fine_tuning_lowers_the_loss(tiny_data, embedder, tmp_path):
    data = load_dataset(tiny_data["items"], tiny_data["sequences"])
    ids = data.item_ids
    items = RecEncoder(embedder.model, embedder.path).encode_items([data.item_text[i] for i in ids])
    config = TrainConfig(max_steps=6, batch_size=8, learning_rate=5e-4, warmup_ratio=0.0, max_minutes=0)
    examples = build_examples(data.sequences, data.item_text, ids, config)
    assert len(examples) == 120  # 40 users x 3 (prefix -> next) pairs
    user = RecEncoder.load(max_seq_length=config.max_seq_length)  # a fresh copy: training changes it in place
    before = example_loss(user, examples, items)
    report = fine_tune(user, examples, items, config, tmp_path / "trainer", progress=False)
    after = example_loss(user, examples, items)
    assert report.steps == 6 and report.steps_per_second > 0
    assert after < before - 0.05, (before, after)


def test_checkpoint_is_versioned_complete_and_loadable(tiny_checkpoint, tiny_data):
    ckpt = Checkpoint.load(tiny_checkpoint.path)
    assert ckpt.good and ckpt.user_encoder_path.is_dir()
    assert newest_good(ckpt.path.parent).path == ckpt.path
    meta = json.loads((ckpt.path / "checkpoint.json").read_text())
    assert meta["train_config"]["max_steps"] == 4 and meta["train_report"]["steps"] == 4
    assert set(meta["blend"]) >= {"encoder", "cooccurrence", "popularity"}
    assert meta["blend"]["fitted_on_users"] == 8
    split = json.loads((ckpt.path / "split.json").read_text())
    assert "user000" not in json.dumps(split)  # raw ids are not stored
    data = load_dataset(tiny_data["items"], tiny_data["sequences"])
    rec = Recommender.from_checkpoint(ckpt, data.item_ids, [data.item_text[i] for i in data.item_ids])
    best = rec.top_k([rec.index["S1"], rec.index["S2"]], k=3)
    assert best[0][0] == "S3"  # the chain continues


def test_failed_or_partial_versions_are_skipped(tiny_checkpoint, tmp_path):
    import shutil

    root = tmp_path / "ranker"
    shutil.copytree(tiny_checkpoint.path, root / "20990101-000000")
    meta_path = root / "20990101-000000" / "checkpoint.json"
    meta = json.loads(meta_path.read_text())
    meta["status"] = "fitting"
    meta_path.write_text(json.dumps(meta))
    assert newest_good(root) is None
    meta["status"] = "good"
    meta_path.write_text(json.dumps(meta))
    assert newest_good(root).version == "20990101-000000"

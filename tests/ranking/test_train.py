"""Real fine-tuning on tiny data: it beats the untrained encoder on validation users, and leaves a
loadable, versioned checkpoint (LoRA adapter + heads + curve + TensorBoard log)."""
from __future__ import annotations

import json
import random

from ranking.checkpoint import Checkpoint, newest_good
from ranking.encoder import RecEncoder
from ranking.recommender import Recommender
from ranking.sequences import load_dataset
from ranking.train import TrainConfig, ValidationSet, build_examples, fine_tune, finish_adapter


def _cross_world_users(n: int, seed: int, world_items) -> dict[str, list[str]]:
    """The next item is always from the OTHER world (gloves -> caliper -> goggles -> micrometer ...): text
    similarity alone (the untrained encoder) predicts the wrong world; only training can learn the chain."""
    cycle = [item for pair in zip(world_items["safety"], world_items["measure"]) for item in pair]
    rng = random.Random(seed)
    users = {}
    for u in range(n):
        start = rng.randrange(len(cycle))
        users[f"u{seed}-{u}"] = [cycle[(start + k) % len(cycle)] for k in range(4)]
    return users


def _cross_world_setup(embedder, world_items):
    """Item texts, ids, packaged item vectors and 30 validation users of the cross-world chain."""
    texts = world_items["texts"]
    ids = list(texts)
    index = {item: n for n, item in enumerate(ids)}
    items = RecEncoder(embedder.model, embedder.path).encode_items([texts[i] for i in ids])
    valid_users = _cross_world_users(30, seed=2, world_items=world_items)
    valid = ValidationSet([[index[i] for i in s[:-1]] for s in valid_users.values()],
                          [index[s[-1]] for s in valid_users.values()])
    return texts, ids, items, valid


def test_training_beats_the_untrained_encoder_on_validation_users(embedder, world_items, tmp_path):
    TEXTS, ids, items, valid = _cross_world_setup(embedder, world_items)
    # the tower and the projection must learn the chain themselves: no stage 1, no per-item residuals
    config = TrainConfig(epochs=4, batch_size=8, learning_rate=2e-3, head_learning_rate=1e-2, warmup_ratio=0.0,
                         max_minutes=0, eval_every=10, patience=10, query_share=0.2, seed=1,
                         warm_heads_epochs=0, item_residual=False)
    examples = build_examples(_cross_world_users(40, seed=1, world_items=world_items), TEXTS, ids, config)
    user = RecEncoder.load(max_seq_length=config.max_seq_length)  # a fresh copy: training changes it in place
    report, heads = fine_tune(user, examples, items, config, tmp_path, valid=valid,
                              item_texts=[TEXTS[i] for i in ids], progress=False, echo=lambda _: None)
    untrained = report.validation[0][1]
    assert report.validation[0][0] == 0 and report.best_step > 0
    # 30 users, 10 items: chance NDCG@10 is ~0.3 and the untrained encoder predicts the wrong world
    assert report.best_ndcg10 >= untrained + 0.25, report.validation
    assert report.best_ndcg10 >= 0.7, report.validation
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve["best_step"] == report.best_step and len(curve["validation_ndcg10"]) >= 3
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert any((tmp_path / "tensorboard").iterdir())  # event files for `tensorboard --logdir`
    # the best step is what is kept: the merged tower + heads reproduce the best validation NDCG
    finish_adapter(user, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    rec = Recommender(user, ids, [TEXTS[i] for i in ids], items, _pop(len(ids)), _co(len(ids)),
                      _weights(), config.context, heads=heads)
    from ranking.blend import ndcg10_from_ranks, target_ranks

    kept = ndcg10_from_ranks(target_ranks(rec.encoder_scores(valid.histories), valid.histories, valid.targets))
    assert abs(kept - report.best_ndcg10) < 0.02, (kept, report.best_ndcg10)


def test_stage_one_trains_the_heads_and_their_item_residuals_are_kept(embedder, world_items, tmp_path):
    TEXTS, ids, items, valid = _cross_world_setup(embedder, world_items)
    config = TrainConfig(max_steps=1, batch_size=8, warm_heads_epochs=6, warm_heads_batch=16, head_learning_rate=1e-2,
                         residual_learning_rate=3e-2, max_minutes=0, eval_every=1, seed=1)
    examples = build_examples(_cross_world_users(40, seed=1, world_items=world_items), TEXTS, ids, config)
    user = RecEncoder.load(max_seq_length=config.max_seq_length)
    report, heads = fine_tune(user, examples, items, config, tmp_path, valid=valid, item_texts=[TEXTS[i] for i in ids],
                              progress=False, echo=lambda _: None, item_ids=ids)
    before = report.warm_heads[0][1]
    assert report.warm_heads[0][0] == 0 and max(v for _, v in report.warm_heads) >= before + 0.25, report.warm_heads
    assert report.validation[0][1] >= max(v for _, v in report.warm_heads) - 1e-6  # stage 2 starts from the best
    # residuals are per item id: saved, loaded, applied only to the ids they were trained for
    heads.save(tmp_path)
    from ranking.heads import Heads
    import numpy as np

    loaded = Heads.load(tmp_path)
    assert loaded.residual_ids == ids and np.abs(loaded.residual).max() > 0
    with_ids = loaded.items(items, ids)
    assert np.allclose(with_ids, heads.items(items, ids), atol=1e-3)  # float16 on disk
    unknown = loaded.items(items, [f"other-{i}" for i in ids])
    assert np.allclose(unknown, loaded.without_residual().items(items), atol=1e-6)
    assert not np.allclose(unknown, with_ids, atol=1e-3)


def _pop(n):
    import numpy as np

    from ranking.baselines import Popularity

    return Popularity(np.zeros(n, np.float32))


def _co(n):
    from ranking.baselines import CoOccurrence

    return CoOccurrence.fit([], n)


def _weights():
    from ranking.blend import BlendWeights

    return BlendWeights(1.0, 0.0, 0.0)


def test_checkpoint_is_versioned_complete_and_loadable(tiny_checkpoint, tiny_data):
    ckpt = Checkpoint.load(tiny_checkpoint.path)
    assert ckpt.good and ckpt.user_adapter_path.is_dir() and (ckpt.path / "heads.npz").exists()
    assert newest_good(ckpt.path.parent).path == ckpt.path
    size = sum(p.stat().st_size for p in ckpt.path.rglob("*") if p.is_file())
    assert size < 6_000_000  # adapter + heads + stats: small enough to ship
    meta = json.loads((ckpt.path / "checkpoint.json").read_text())
    assert meta["train_config"]["max_steps"] == 4 and meta["train_report"]["steps"] == 4
    assert meta["train_report"]["validation"][0][0] == 0  # the curve starts at the untrained step
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
    for status in ("fitting", "rejected"):
        meta["status"] = status
        meta_path.write_text(json.dumps(meta))
        assert newest_good(root) is None
    meta["status"] = "good"
    meta_path.write_text(json.dumps(meta))
    assert newest_good(root).version == "20990101-000000"

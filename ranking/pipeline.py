"""``shopassist train ranker``: data -> split -> fine-tune -> fit the blend -> versioned checkpoint.

Steps, all in :func:`train_ranker`:

1. Load ITEMS and SEQUENCES (columns auto-detected; unknown item ids reported, not fatal).
2. Split users with a fixed seed: ``test_share`` held out entirely (neither trained nor fitted on: the
   evaluation's users), ``valid_share`` for fitting the blend, the rest for fine-tuning and counts.
3. Count popularity and co-occurrence and fit EASE on the training users.
4. Embed every item once with the frozen item tower (the packaged MiniLM).
5. Fine-tune the user tower (LoRA) and the item projection on (context -> next item) examples of the
   training users (:mod:`ranking.train`), with a validation curve, early stopping and the best step kept.
6. Fit the blend weights on the validation users (:mod:`ranking.blend`).
7. Write the version folder (:mod:`ranking.checkpoint`) and mark it ``good`` last, so a crash never
   leaves a half-written checkpoint that serving would pick.

Example::

    ckpt = train_ranker("items.csv", "sequences.csv.gz", Path("var/models/ranker"), TrainConfig(max_steps=50))
    ckpt.meta["validation"]["bert"]["ndcg@10"]
"""
from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from ranking.baselines import CoOccurrence, Ease, Popularity
from ranking.blend import BlendFeatures, fit_blend, ndcg10_from_ranks, target_ranks
from ranking.checkpoint import (USER_ADAPTER_DIR, USER_ENCODER_DIR, Checkpoint, new_version_dir, save_stats,
                                write_meta)
from ranking.encoder import RecEncoder, cached_item_vectors
from ranking.heads import Heads
from ranking.recommender import Recommender
from ranking.sequences import load_dataset, split_users, user_digest
from ranking.train import (TrainConfig, TrainReport, ValidationSet, build_examples, example_loss, finish_adapter,
                           fine_tune)

log = logging.getLogger(__name__)


def train_ranker(items: str | Path, sequences: str | Path, out_root: Path, config: TrainConfig | None = None,
                 items_map: dict[str, str] | None = None, sequences_map: dict[str, str] | None = None,
                 test_share: float = 0.15, valid_share: float = 0.10, init: Path | None = None,
                 max_valid_users: int = 1500, progress: bool = True,
                 echo: Callable[[str], None] = print) -> Checkpoint:
    """Train and save one checkpoint version under ``out_root``; returns it (status ``good``).

    Args:
        items, sequences: the data files (see :mod:`ranking.sequences`).
        out_root: folder of versions (``<data_dir>/models/ranker`` by default).
        config: training knobs (:class:`ranking.train.TrainConfig`).
        items_map, sequences_map: column mappings when names are not auto-detected.
        test_share, valid_share: user split (seed ``config.seed``).
        init: start the user tower from this sentence-transformers folder instead of the packaged MiniLM.
        max_valid_users: cap on validation users (validation curve and blend fitting).
    """
    config = config or TrainConfig()
    data = load_dataset(items, sequences, items_map, sequences_map)
    echo(data.report())
    split = split_users(data.users, test_share, valid_share, config.seed)
    echo(f"users: {len(split.train):,} train, {len(split.valid):,} validation (curve + blend), "
         f"{len(split.test):,} held out (never used here)")
    ids = data.item_ids
    index = {item: n for n, item in enumerate(ids)}
    valid_users = list(split.valid)[:max_valid_users]
    valid_seqs = [[index[i] for i in data.sequences[u]] for u in valid_users]
    valid = ValidationSet([s[:-1] for s in valid_seqs], [s[-1] for s in valid_seqs])
    split_record = {"seed": config.seed, "test_share": test_share, "valid_share": valid_share,
                    "train": sorted(user_digest(u) for u in split.train),
                    "valid": sorted(user_digest(u) for u in split.valid)}
    info = {"items": str(items), "sequences": str(sequences), "n_items": len(ids), "n_users": len(data.users),
            "unknown_item_ids": data.unknown_count, "train_users": len(split.train),
            "valid_users": len(split.valid), "test_users": len(split.test)}
    return train_on(ids, [data.item_text[i] for i in ids], {u: data.sequences[u] for u in split.train}, valid,
                    out_root, config, split_record, info, init=init, progress=progress, echo=echo)


def train_on(ids: list[str], texts: list[str], train_sequences: dict[str, list[str]], valid: ValidationSet,
             out_root: Path, config: TrainConfig, split_record: dict, info: dict, *,
             train_weights: dict[str, list[float]] | None = None, negatives: dict[str, list[str]] | None = None,
             init: Path | None = None, require_improvement: bool = False, progress: bool = True,
             echo: Callable[[str], None] = print) -> Checkpoint:
    """The shared core of ``train ranker`` (behaviour files) and ``train ranker --from-events`` (the shop).

    Args:
        ids, texts: the item vocabulary and texts (the text each item is embedded and written from).
        train_sequences: user -> item ids, oldest first (training users only).
        valid: validation histories/targets (indices into ``ids``) for the curve and the blend.
        split_record: written to ``split.json`` (digests of users never to be evaluated on).
        info: the ``data`` entry of checkpoint.json.
        train_weights, negatives: event weights per sequence entry and not-interested items per user.
        require_improvement: mark the version ``good`` only if the fine-tuned encoder beats the untrained
            one on validation (a running server picks up only good versions); else ``rejected``.
    """
    started = time.perf_counter()
    index = {item: n for n, item in enumerate(ids)}
    train_seqs_idx = [[index[i] for i in s] for s in train_sequences.values()]
    counts = Popularity.fit(train_seqs_idx, len(ids)).counts
    pairs = CoOccurrence.counts(train_seqs_idx, len(ids))
    gram = Ease.gram(train_seqs_idx, len(ids))
    ease = Ease.from_gram(gram, lam=config.ease_lambda)
    context = config.context

    echo(f"embedding {len(ids):,} items with the frozen item tower ...")
    item_encoder = RecEncoder.load()
    vectors = cached_item_vectors(item_encoder, ids, texts, out_root / "cache", context.item_words, progress)
    user_encoder = RecEncoder.load(init, max_seq_length=config.max_seq_length)
    text_of = dict(zip(ids, texts))
    examples = build_examples(train_sequences, text_of, ids, config, weights=train_weights, negatives=negatives)
    probe = examples[:64]
    loss_before = example_loss(user_encoder, probe, vectors, config.scale)
    echo(f"fine-tuning on {len(examples):,} (context -> next item) examples ({config.adapter}, "
         f"{config.epochs} epoch(s) max); probe loss {loss_before:.3f}")
    version = new_version_dir(out_root)
    if config.epochs > 0 and len(examples) >= 2:
        report, heads = fine_tune(user_encoder, examples, vectors, config, version, valid=valid, item_texts=texts,
                                  progress=progress, echo=echo, item_ids=ids)
    else:  # --epochs 0: keep the tower as it is, only refit the blend
        report, heads = TrainReport(steps=0, seconds=0.0, examples=len(examples), device="none",
                                    stopped_by="epochs=0"), Heads.identity()
    if config.adapter == "lora" and report.steps:
        finish_adapter(user_encoder, version / USER_ADAPTER_DIR)
    else:
        finish_adapter(user_encoder)
        user_encoder.model.save(str(version / USER_ENCODER_DIR))
    heads.save(version)
    loss_after = example_loss(user_encoder, probe, vectors, config.scale, heads, ids)
    echo(f"trained {report.steps} steps in {report.seconds / 60:.1f} min ({report.steps_per_second:.3f} steps/s, "
         f"{report.device}; {report.stopped_by}); best step {report.best_step}; gate {heads.gate:.3f}; "
         f"probe loss {loss_before:.3f} -> {loss_after:.3f}")
    save_stats(version, ids, counts, pairs, ease, gram)
    (version / "split.json").write_text(json.dumps(split_record))

    echo(f"fitting the blend on {len(valid.targets):,} validation users ...")
    meta = {"status": "fitting", "created": datetime.now(timezone.utc).isoformat(), "context": asdict(context),
            "item_encoder": None, "ease_lambda": config.ease_lambda}
    write_meta(version, meta)
    rec = Recommender.from_checkpoint(Checkpoint(version, meta), ids, texts, vectors,
                                      extra_sequences=valid.histories, user_encoder=user_encoder)
    sig = rec.signals(valid.histories, weights=valid.weights)
    weights, table = fit_blend(BlendFeatures(sig["encoder"], sig["cooccurrence"], sig["popularity"],
                                             valid.histories, valid.targets, sig["ease"]))
    untrained = Recommender(item_encoder, ids, texts, vectors, rec.popularity, rec.cooccurrence, weights, context,
                            ease=rec.ease)
    untrained_ndcg = ndcg10_from_ranks(target_ranks(untrained.encoder_scores(valid.histories, weights=valid.weights),
                                                    valid.histories, valid.targets))
    encoder_ndcg = ndcg10_from_ranks(target_ranks(sig["encoder"], valid.histories, valid.targets))
    validation = {
        "users": len(valid.targets), "bert-untrained": untrained_ndcg, "bert-encoder": encoder_ndcg,
        "cooccurrence": ndcg10_from_ranks(target_ranks(sig["cooccurrence"], valid.histories, valid.targets)),
        "ease": ndcg10_from_ranks(target_ranks(sig["ease"], valid.histories, valid.targets)),
        "bert": weights.validation_ndcg10, "metric": "ndcg@10"}
    echo("validation NDCG@10: " + ", ".join(f"{k} {v:.4f}" for k, v in validation.items()
                                             if isinstance(v, float)))
    echo(f"blend weights: encoder {weights.encoder}, cooccurrence {weights.cooccurrence}, ease {weights.ease}, "
         f"popularity {weights.popularity}")
    status = "good"
    if require_improvement and not encoder_ndcg > untrained_ndcg:
        status = "rejected"
        echo(f"NOT marked good: the fine-tuned encoder ({encoder_ndcg:.4f}) does not beat the untrained one "
             f"({untrained_ndcg:.4f}) on validation; serving keeps the current checkpoint")
    meta.update({
        "status": status, "version": version.name, "blend": weights.to_dict(), "blend_grid_top": table[:10],
        "train_config": asdict(config), "train_report": report.to_dict(),
        "probe_loss": {"before": loss_before, "after": loss_after}, "validation": validation,
        "init": str(init) if init else None, "data": info,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "device": report.device, "torch_threads": config.torch_threads},
        "total_seconds": round(time.perf_counter() - started, 1)})
    write_meta(version, meta)
    echo(f"saved checkpoint {version} ({status})")
    return Checkpoint(version, meta)


def validation_summary(ckpt: Checkpoint) -> str:
    """One line: version, steps, and the validation NDCG@10 of the encoder and the blend."""
    val = ckpt.meta.get("validation", {})
    rep = ckpt.meta.get("train_report", {})
    return (f"{ckpt.version}: {rep.get('steps', '?')} steps, validation NDCG@10 bert {val.get('bert', float('nan')):.4f}"
            f" / bert-encoder {val.get('bert-encoder', float('nan')):.4f}")


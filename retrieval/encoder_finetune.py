"""Fine-tuning the dense encoder on graded judgments (``shopassist train encoder``).

Training examples are (query, relevant product, hard negative) triples, trained with
sentence-transformers' ``MultipleNegativesRankingLoss``: every other product in the batch is a
negative too (in-batch negatives), and the hard negative comes from the query's BM25 top list:
a product judged irrelevant for the query when there is one (relevance ≤ ``negative_max``), else
an *unjudged* product from BM25 ranks ``unjudged_from``..``unjudged_to`` (not the very top:
unjudged is not irrelevant, and the top of BM25 often is relevant). The batch sampler keeps
duplicate texts out of a batch, so a query's other positives are never its in-batch negatives.

**Held-out queries.** A query is held out when ``fold_of(query_key(q), folds) == holdout_fold``
(the hash the re-ranker's folds use, so "held out for the encoder" is re-ranker fold 0): it is never
trained on, and the before/after numbers in ``meta.json`` are measured on those queries only.

**Resumable.** A run lives in ``<root>/.run-<key>/`` (key: data, base model and settings): the
triples are written once, the Trainer checkpoints every ``save_steps`` steps, and the same command
resumes from the newest checkpoint. ``time_limit_s`` stops a run cleanly after a checkpoint (so a
long run can be split into short ones). A finished model is written to a hidden staging folder and
renamed to ``<root>/<YYYYmmdd-HHMMSS>-<rand>/`` (a sentence-transformers folder plus ``meta.json``);
the folder name is part of the model's name and so of its Chroma collection.
"""
from __future__ import annotations

import hashlib
import json
import random
import secrets
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from retrieval.rerank_train import fold_of
from retrieval.reranker import query_key


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: float = 1.0
    batch_size: int = 64
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    positive_min: float = 2.33  # judged relevance counted as a positive (Home Depot: mean of 1..3 ratings)
    negative_max: float = 1.67  # judged relevance counted as a hard negative
    max_positives: int = 3  # per query (the best judged first)
    unjudged_from: int = 10  # unjudged BM25 negatives come from these ranks
    unjudged_to: int = 50
    max_seq_length: int = 48
    save_steps: int = 50
    folds: int = 5
    holdout_fold: int = 0
    seed: int = 13
    also_held_out: tuple[int, ...] = ()  # more folds kept out of training (cross-fitting the re-ranker)


def is_heldout(query: str, config: FinetuneConfig) -> bool:
    """True for a query the encoder must never train on (its re-ranker fold is ``holdout_fold``)."""
    return fold_of(query_key(query), config.folds) == config.holdout_fold


def is_trained_on(query: str, config: FinetuneConfig) -> bool:
    """True for a query the encoder trains on: neither held out nor in ``also_held_out``."""
    fold = fold_of(query_key(query), config.folds)
    return fold != config.holdout_fold and fold not in config.also_held_out


def training_triples(queries: Mapping[str, str], gains: Mapping[str, Mapping[str, float]],
                     texts: Mapping[str, str], bm25: Mapping[str, Sequence[str]],
                     config: FinetuneConfig) -> list[tuple[str, str, str]]:
    """(query, positive text, hard negative text) for every training query (held-out ones skipped).

    ``texts``: product id -> the text the index embeds; ``bm25``: query id -> BM25 ranking (ids)."""
    rng = random.Random(config.seed)
    triples = []
    for qid in sorted(queries):
        query, judged = queries[qid], gains[qid]
        if not is_trained_on(query, config):
            continue
        positives = sorted((p for p, g in judged.items() if g >= config.positive_min and p in texts),
                           key=lambda p: (-judged[p], p))[:config.max_positives]
        if not positives:
            continue
        ranked = [p for p in bm25.get(qid, ()) if p in texts]
        judged_low = [p for p in ranked if p in judged and judged[p] <= config.negative_max]
        unjudged = [p for p in ranked[config.unjudged_from:config.unjudged_to] if p not in judged]
        for pos in positives:
            pool = judged_low or unjudged
            if not pool:
                continue
            triples.append((query, texts[pos], texts[rng.choice(pool)]))
    rng.shuffle(triples)
    return triples


def run_key(about: Mapping, config: FinetuneConfig) -> str:
    """Identifies a training run: the same data, base model and settings resume the same run."""
    fields = asdict(config)
    if not fields["also_held_out"]:  # runs from before cross-fitting keep their key
        del fields["also_held_out"]
    return hashlib.sha256(json.dumps([dict(about), fields], sort_keys=True).encode()).hexdigest()[:12]


def latest_checkpoint(folder: Path) -> Path | None:
    points = [p for p in Path(folder).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
              and (p / "trainer_state.json").is_file()]
    return max(points, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _time_limit(seconds: float | None):
    """A TrainerCallback that saves a checkpoint and stops once ``seconds`` have passed (``fired`` says so)."""
    from transformers import TrainerCallback

    deadline = time.monotonic() + seconds if seconds is not None else None

    class TimeLimit(TrainerCallback):
        fired = False

        def on_step_end(self, args, state, control, **kwargs):
            if deadline is not None and time.monotonic() >= deadline:
                control.should_save = True
                control.should_training_stop = True
                self.fired = True
            return control

    return TimeLimit()


def finetune(base_model: Path, triples: Sequence[tuple[str, str, str]] | None, root: Path, about: Mapping,
             config: FinetuneConfig = FinetuneConfig(), threads: int | None = None,
             time_limit_s: float | None = None, echo: Callable[[str], None] = print,
             progress: bool = True) -> Path | None:
    """Train (or resume) the run of ``about``/``config`` under ``root``; returns the new version folder,
    or None when the time limit stopped it first (run the same call again to resume).

    ``triples`` is only read on a run's first call (they are saved in the run folder); pass None to
    resume a run whose triples are saved."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    root = Path(root)
    run = root / f".run-{run_key(about, config)}"
    done = run / "done.json"
    if done.is_file():
        version = Path(json.loads(done.read_text())["version"])
        if (version / "meta.json").is_file():
            echo(f"this run already finished: {version}")
            return version
    run.mkdir(parents=True, exist_ok=True)
    data_file = run / "triples.jsonl"
    if not data_file.is_file():
        if not triples:
            raise ValueError("no training triples (no judged query outside the held-out fold has a positive)")
        tmp = data_file.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(t) + "\n" for t in triples))
        tmp.rename(data_file)
    rows = [json.loads(line) for line in data_file.read_text().splitlines()]
    resume = latest_checkpoint(run / "checkpoints")
    echo(f"{len(rows)} training triples; " + (f"resuming from {resume.name}" if resume else "starting"))
    limit = _time_limit(time_limit_s)
    model, trainer = _trainer(base_model, rows, run / "checkpoints", config, limit, progress)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    state = trainer.state
    if limit.fired and state.global_step < state.max_steps:
        echo(f"stopped at step {state.global_step} of {state.max_steps} (time limit); run again to resume")
        return None
    stage = root / f".staging-{secrets.token_hex(4)}"
    model.save(str(stage))
    meta = {"base_model": str(base_model), "config": asdict(config), "about": dict(about),
            "triples": len(rows), "steps": state.global_step, "max_steps": state.max_steps,
            "train_loss": _last_loss(state.log_history),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "heldout": {"rule": f"fold_of(query_key(query), {config.folds}) == {config.holdout_fold}",
                        "note": "held-out queries were never trained on"},
            "untrained_folds": sorted({config.holdout_fold, *config.also_held_out}),
            "good": None}
    (stage / "meta.json").write_text(json.dumps(meta, indent=1))
    version = root / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"
    stage.rename(version)  # one rename: a reader never sees a half-written model
    done.write_text(json.dumps({"version": str(version)}))
    shutil.rmtree(run / "checkpoints", ignore_errors=True)
    return version


def _last_loss(history: list[dict]) -> float | None:
    losses = [h["loss"] for h in history if "loss" in h]
    return round(float(losses[-1]), 4) if losses else None


def _trainer(base_model: Path, rows: list, out: Path, config: FinetuneConfig, callback, progress: bool):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer

    try:  # sentence-transformers ≥ 6 moved these
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
        from sentence_transformers.sentence_transformer.training_args import (
            BatchSamplers, SentenceTransformerTrainingArguments)
    except ImportError:  # pragma: no cover - older sentence-transformers
        from sentence_transformers import SentenceTransformerTrainingArguments
        from sentence_transformers.losses import MultipleNegativesRankingLoss
        from sentence_transformers.training_args import BatchSamplers

    model = SentenceTransformer(str(base_model), device="cpu", local_files_only=True)
    model.max_seq_length = config.max_seq_length
    dataset = Dataset.from_dict({"anchor": [r[0] for r in rows], "positive": [r[1] for r in rows],
                                 "negative": [r[2] for r in rows]})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_ratio=config.warmup_ratio, seed=config.seed,
        data_seed=config.seed, save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        logging_steps=10, report_to="none", use_cpu=True, dataloader_num_workers=0,
        batch_sampler=BatchSamplers.NO_DUPLICATES, disable_tqdm=not progress)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model),
                                         callbacks=[callback])
    return model, trainer


def update_meta(version: Path, **fields) -> dict:
    """Set top-level ``fields`` of a version's ``meta.json`` (atomically); returns the new meta."""
    path = Path(version) / "meta.json"
    meta = {**json.loads(path.read_text()), **fields}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(path)
    return meta


def mark_evaluated(version: Path, heldout: Mapping) -> dict:
    """Record the held-out before/after numbers in ``meta.json``; ``good`` when the fine-tuned dense
    NDCG@10 beats the packaged one on the held-out queries."""
    meta = json.loads((Path(version) / "meta.json").read_text())
    return update_meta(version, heldout={**meta["heldout"], **dict(heldout)},
                       good=heldout["dense_ndcg@10_finetuned"] > heldout["dense_ndcg@10_packaged"])

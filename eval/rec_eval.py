"""Offline recommendation evaluation: leave-last-out, full ranking over ALL items.

Protocol (``shopassist eval recommend``):

- For every evaluated user the history is all but the last item and the target is the last item.
- Every item in ITEMS is ranked (no sampled negatives); items already in the history are excluded.
  Ties are broken by item order in ITEMS (a stable sort), so a system cannot gain from ties.
- Metrics per user, averaged: HR@10, NDCG@10, HR@50 (one relevant item, so HR = recall) and MRR over
  the full ranking. HR/NDCG come from ``eval.metrics`` on each user's top-50 list.
- Users the checkpoint used for training or for fitting its blend (recorded as one-way digests in
  ``split.json``) are skipped and counted, so evaluating on the training file itself still measures
  unseen users only. A file of new users is evaluated whole.
- Counts (popularity, co-occurrence) come from the checkpoint's training users plus the evaluated
  users' *histories* (never their targets).

Systems: ``popularity``; ``cooccurrence`` (next-item transitions from the last three items,
popularity only breaking ties); ``ease`` (EASE item-item weights over the recency-weighted
history, fitted on the same counts; popularity breaking ties; 0 for checkpoints without EASE);
``bert-untrained`` (the packaged MiniLM as the user tower, same context text, alone, no projection); ``bert-untrained-mean`` (the packaged MiniLM over a recency-weighted
mean of the history's item vectors — the strongest untrained variant we know); ``bert-encoder`` (the
fine-tuned model alone: LoRA user tower mixed with the history mean, against the projected items);
``bert`` (exactly as served: the fitted blend of the fine-tuned model, co-occurrence, EASE and popularity).
Contexts are written by ``ranking.context.build_user_context`` (the served builder). Evaluating a
checkpoint on another data set's file (all users unseen) measures transfer.

Example::

    result = evaluate_recommenders("items.csv", "sequences.csv.gz", "var/models/ranker")
    result["systems"]["bert"]["ndcg@10"]
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from eval.metrics import hit_rate_at_k, ndcg_at_k

log = logging.getLogger(__name__)

SYSTEMS = ("popularity", "cooccurrence", "ease", "bert-untrained", "bert-untrained-mean", "bert-encoder", "bert")
METRICS = ("hr@10", "ndcg@10", "hr@50", "mrr")


def rank_metrics(scores: np.ndarray, histories: Sequence[Sequence[int]], targets: Sequence[int]) -> dict[str, list[float]]:
    """Per-user HR@10, NDCG@10, HR@50 and MRR for one score matrix (users x items).

    History items are excluded (unless an item is also the target, which stays rankable).
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    out: dict[str, list[float]] = {m: [] for m in METRICS}
    for row, (history, target) in enumerate(zip(histories, targets)):
        line = scores[row]
        banned = [h for h in history if h != target]
        if banned:
            line[banned] = -np.inf
        better = int((line > line[target]).sum())
        tied_before = int((line[:target] == line[target]).sum())
        rank = better + tied_before
        top = np.argsort(-line, kind="stable")[:50]
        gains, relevant = {int(target): 1.0}, {int(target)}
        ranked = [int(i) for i in top]
        out["hr@10"].append(hit_rate_at_k(ranked, relevant, 10))
        out["ndcg@10"].append(ndcg_at_k(ranked, gains, 10))
        out["hr@50"].append(hit_rate_at_k(ranked, relevant, 50))
        out["mrr"].append(1.0 / (rank + 1))
    return out


def summarise(per_user: dict[str, list[float]]) -> dict[str, float]:
    return {m: round(float(np.mean(v)), 5) if v else 0.0 for m, v in per_user.items()}


def evaluate_recommenders(items: str | Path, sequences: str | Path, model: str | Path,
                          items_map: dict[str, str] | None = None, sequences_map: dict[str, str] | None = None,
                          max_users: int | None = None, chunk: int = 256, threads: int | None = None,
                          echo: Callable[[str], None] = print) -> dict:
    """Run the protocol above for every system and return the result dict (see the CLI for the table)."""
    import torch

    from ranking.checkpoint import Checkpoint
    from ranking.encoder import RecEncoder, cached_item_vectors, history_vector
    from ranking.recommender import Recommender
    from ranking.sequences import load_dataset, user_digest

    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    data = load_dataset(items, sequences, items_map, sequences_map)
    echo(data.report())
    ckpt = Checkpoint.load(model)
    seen = ckpt.split_digests()
    users = [u for u in data.users if user_digest(u) not in seen]
    skipped = len(data.users) - len(users)
    if max_users:
        users = users[:max_users]
    if not users:
        raise ValueError("no users left to evaluate: every user in SEQUENCES was used to train this checkpoint")
    echo(f"evaluating {len(users):,} users ({skipped:,} skipped: used in training/validation) "
         f"over {len(data.item_text):,} items with checkpoint {ckpt.version}")
    ids, texts = data.item_ids, [data.item_text[i] for i in data.item_ids]
    index = {item: n for n, item in enumerate(ids)}
    seqs = [[index[i] for i in data.sequences[u]] for u in users]
    histories, targets = [s[:-1] for s in seqs], [s[-1] for s in seqs]

    item_encoder = RecEncoder.load(ckpt.item_encoder_path)
    vectors = cached_item_vectors(item_encoder, ids, texts, ckpt.path.parent / "cache", ckpt.context.item_words)
    rec = Recommender.from_checkpoint(ckpt, ids, texts, vectors, extra_sequences=histories, item_encoder=item_encoder)
    untrained = Recommender(item_encoder, ids, texts, vectors, rec.popularity, rec.cooccurrence, rec.weights,
                            rec.context_settings, "untrained")
    per_user: dict[str, dict[str, list[float]]] = {s: {m: [] for m in METRICS} for s in SYSTEMS}
    pop = rec.popularity.normalised()
    from tqdm import tqdm

    for start in tqdm(range(0, len(users), chunk), desc="evaluating", unit="chunk"):
        hist, tgt = histories[start:start + chunk], targets[start:start + chunk]
        sig = rec.signals(hist)
        scores = {
            "popularity": sig["popularity"],
            "cooccurrence": sig["cooccurrence"] + 1e-4 * pop[None, :],
            "ease": sig["ease"] + 1e-4 * pop[None, :],
            "bert-untrained": untrained.encoder_scores(hist),
            "bert-untrained-mean": np.stack([history_vector(vectors, h, decay=0.5) for h in hist]) @ vectors.T,
            "bert-encoder": sig["encoder"],
            "bert": rec.weights.combine(sig["encoder"], sig["cooccurrence"], sig["popularity"], ease=sig["ease"]),
        }
        for system, matrix in scores.items():
            for metric, values in rank_metrics(matrix, hist, tgt).items():
                per_user[system][metric].extend(values)
    result = {"systems": {s: summarise(per_user[s]) for s in SYSTEMS}, "users": len(users), "items": len(ids),
              "skipped_training_users": skipped, "model": str(ckpt.path), "version": ckpt.version,
              "blend": rec.weights.to_dict(),
              "unknown_item_ids": {"count": data.unknown_count, "examples": data.unknown_examples},
              "seconds": round(time.perf_counter() - started, 1)}
    return result


def format_table(result: dict) -> str:
    """The printed table: one row per system."""
    lines = [f"{'system':<20} " + " ".join(f"{m:>8}" for m in METRICS)]
    for system, row in result["systems"].items():
        lines.append(f"{system:<20} " + " ".join(f"{row[m]:>8.4f}" for m in METRICS))
    lines.append(f"users={result['users']:,} items={result['items']:,} model={result.get('version')}")
    return "\n".join(lines)

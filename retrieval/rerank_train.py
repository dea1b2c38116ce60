"""Training the learned re-ranker (``shopassist train reranker``) with query-level cross-validation.

For each judged query the served hybrid candidates are computed once (``ProductSearch.candidates``);
the first ``depth`` become rows (:mod:`retrieval.rerank_features`), labelled with the judged relevance
(unjudged = 0). Each query falls in one of ``folds`` folds by a hash of its text; fold model *i* is
trained on the other folds and scores fold *i*, so every query's cross-validated NDCG@10 comes from
a model that never saw it. The served ``model.txt`` is then trained on every query.

NDCG@10 here is the project's (``eval.metrics.ndcg_at_k``: linear gain, ideal over all judged items);
LightGBM gets the same linear gains (labels are relevance × 3, ``label_gain`` = label / 3).
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalog.records import Product
from retrieval.rerank_features import FEATURES, Candidates, Featurizer
from retrieval.reranker import FORMAT, query_key

PARAMS = {
    "objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10], "learning_rate": 0.05,
    "num_leaves": 31, "min_data_in_leaf": 50, "feature_fraction": 0.8, "bagging_fraction": 0.8,
    "bagging_freq": 1, "lambdarank_truncation_level": 30, "label_gain": [i / 3 for i in range(10)],
    "verbosity": -1, "seed": 7, "deterministic": True, "force_row_wise": True,
}
ROUNDS = 300


@dataclass
class Dataset:
    keys: list[str]  # query_key of each query
    rows: list[np.ndarray]  # features of each query's first `depth` candidates
    labels: list[np.ndarray]  # int labels, same order
    candidates: list[Candidates]
    gains: list[Mapping[str, float]]


def fold_of(key: str, folds: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % folds


def ndcg10(ranked: list[str], gains: Mapping[str, float]) -> float:
    """Same as ``eval.metrics.ndcg_at_k(ranked, gains, 10)`` (retrieval does not import eval)."""
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:10]
    best = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return sum(gains.get(i, 0.0) / math.log2(r + 2) for r, i in enumerate(ranked[:10])) / best if best else 0.0


def build_dataset(queries: Mapping[str, str], gains: Mapping[str, Mapping[str, float]],
                  candidates: Mapping[str, Candidates], products: Mapping[str, Product], lexical, depth: int,
                  progress: bool = True) -> Dataset:
    """Feature rows and labels of every judged query (``queries``: id -> text)."""
    featurizer = Featurizer()
    titles: dict = {}
    data = Dataset([], [], [], [], [])
    for qid in tqdm(queries, desc="features", disable=not progress):
        cands, judged = candidates[qid], gains[qid]
        head = cands.order[:depth]
        for pid in head:
            if pid not in titles and pid in products:
                titles[pid] = featurizer.terms(products[pid].title)
        data.keys.append(query_key(queries[qid]))
        data.rows.append(featurizer.rows(queries[qid], cands, products, lexical, depth=depth, title_terms=titles))
        data.labels.append(np.array([round(judged.get(pid, 0.0) * 3) for pid in head], dtype=np.int32))
        data.candidates.append(cands)
        data.gains.append(judged)
    return data


def _fit(data: Dataset, picks: list[int], threads: int, rounds: int):
    import lightgbm as lgb

    useful = [i for i in picks if data.labels[i].any()]  # a query with no judged candidate teaches nothing
    matrix = np.concatenate([data.rows[i] for i in useful])
    labels = np.concatenate([data.labels[i] for i in useful])
    train = lgb.Dataset(matrix, labels, group=[len(data.labels[i]) for i in useful], feature_name=list(FEATURES),
                        free_raw_data=True)
    return lgb.train({**PARAMS, "num_threads": threads}, train, num_boost_round=rounds)


def _reordered(model, data: Dataset, i: int) -> list[str]:
    order = data.candidates[i].order
    head = order[:len(data.labels[i])]
    if not head:
        return list(order)
    scores = model.predict(data.rows[i], num_threads=1)
    return [head[j] for j in np.argsort(-scores, kind="stable")] + list(order[len(head):])


def train(data: Dataset, out_root: Path, depth: int, folds: int = 5, threads: int = 2, rounds: int = ROUNDS,
          about: Mapping | None = None, echo: Callable[[str], None] = print) -> Path:
    """Cross-validate, train the full model, write a new version folder under ``out_root``; returns it."""
    started = time.perf_counter()
    stage = Path(out_root) / f".staging-{secrets.token_hex(4)}"  # hidden from reranker.versions until renamed
    stage.mkdir(parents=True)
    fold = [fold_of(k, folds) for k in data.keys]
    reranked, plain = np.zeros(len(data.keys)), np.zeros(len(data.keys))
    per_fold = []
    for f in range(folds):
        test = [i for i, g in enumerate(fold) if g == f]
        model = _fit(data, [i for i, g in enumerate(fold) if g != f], threads, rounds)
        for i in test:
            reranked[i] = ndcg10(_reordered(model, data, i), data.gains[i])
            plain[i] = ndcg10(data.candidates[i].order, data.gains[i])
        per_fold.append(round(float(reranked[test].mean()), 4) if test else None)
        echo(f"fold {f}: {len(test)} queries, NDCG@10 hybrid {plain[test].mean():.4f} -> rerank {reranked[test].mean():.4f}")
        model.save_model(str(stage / f"fold-{f}.txt"))
    full = _fit(data, list(range(len(data.keys))), threads, rounds)
    full.save_model(str(stage / "model.txt"))
    cv = {"folds": folds, "queries": len(data.keys), "ndcg@10": round(float(reranked.mean()), 4),
          "hybrid_ndcg@10": round(float(plain.mean()), 4), "ndcg@10_per_fold": per_fold}
    importance = dict(zip(FEATURES, (round(float(v), 1) for v in full.feature_importance("gain"))))
    meta = {"format": FORMAT, "features": list(FEATURES), "depth": depth, "rounds": rounds,
            "params": {k: v for k, v in PARAMS.items() if k != "label_gain"}, "cv": cv,
            "good": cv["ndcg@10"] > cv["hybrid_ndcg@10"], "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "train_seconds": round(time.perf_counter() - started, 1), "feature_gain": importance,
            "about": dict(about or {}), "query_folds": dict(zip(data.keys, fold))}
    (stage / "meta.json").write_text(json.dumps(meta, indent=1))
    final = out_root / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"
    stage.rename(final)  # one rename: a reader never sees a half-written version
    return final


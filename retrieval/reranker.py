"""The learned re-ranker: LightGBM LambdaMART over the fused candidates' features.

A model folder is one version under a root (default ``<data_dir>/models/reranker``)::

    <root>/<YYYYmmdd-HHMMSS>-<rand>/
        model.txt       trained on every judged query (what search serves)
        fold-<i>.txt    trained without the queries of fold i (cross-validated evaluation)
        meta.json       features, depth, CV metrics, the fold of each training query, "good"

It is written under a temporary name and renamed, so a half-written version is never picked.
:func:`load_newest` returns the newest *good* version (cross-validated NDCG@10 above the plain
hybrid on the same queries, features equal to this code's); a missing or unreadable one gives
``None`` and one log line, never an exception, and search stays plain hybrid.

Example::

    reranker = load_newest(settings.data_dir / "models" / "reranker")
    order, scores = reranker.reorder(query, candidates, products, lexical)
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from catalog.records import Product
from retrieval.rerank_features import FEATURES, Candidates, Featurizer

log = logging.getLogger(__name__)
FORMAT = 1


class RerankerError(RuntimeError):
    """A re-ranker folder that cannot be used (missing files, unreadable model, other features)."""


def query_key(query: str) -> str:
    """How training queries are recognised again at evaluation (lower case, spaces collapsed)."""
    return " ".join(query.lower().split())


class Reranker:
    """Re-orders the first ``depth`` fused candidates by a LightGBM ranking model.

    Args:
        model: a ``lightgbm.Booster``.
        meta: the version's ``meta.json``.
        folds: fold number -> booster, for cross-validated scoring of training queries.
        threads: LightGBM threads at prediction.
    """

    def __init__(self, model, meta: dict, folder: Path | None = None, folds: dict | None = None, threads: int = 1):
        self.model = model
        self.meta = meta
        self.folder = folder
        self.folds = folds or {}
        self.threads = threads
        self.depth = int(meta.get("depth", 100))
        self.featurizer = Featurizer()

    @classmethod
    def load(cls, folder: Path, with_folds: bool = False, threads: int = 1) -> "Reranker":
        import lightgbm as lgb

        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != FORMAT or tuple(meta.get("features", ())) != FEATURES:
                raise RerankerError(f"{folder} was trained with other features or format; retrain it")
            model = lgb.Booster(model_file=str(folder / "model.txt"))
            folds = {int(f): lgb.Booster(model_file=str(folder / f"fold-{f}.txt"))
                     for f in range(int(meta["cv"]["folds"]))} if with_folds else {}
        except RerankerError:
            raise
        except (OSError, ValueError, KeyError, TypeError, lgb.basic.LightGBMError) as exc:
            raise RerankerError(f"the re-ranker in {folder} is unreadable ({type(exc).__name__}: {exc})") from exc
        if model.num_feature() != len(FEATURES):
            raise RerankerError(f"{folder}: the model expects {model.num_feature()} features, not {len(FEATURES)}")
        return cls(model, meta, folder, folds, threads)

    def fold_of(self, query: str) -> int | None:
        """The fold a training query was held out in (None for a query the model never saw)."""
        fold = self.meta.get("query_folds", {}).get(query_key(query))
        return None if fold is None else int(fold)

    def reorder(self, query: str, candidates: Candidates, products: Mapping[str, Product], lexical=None,
                cross_validated: bool = False) -> tuple[list[str], dict[str, float]]:
        """Candidate ids re-ordered (the first ``depth`` by the model, the rest as they were) and the
        model score of each re-ordered id. ``cross_validated``: a training query is scored by the
        model of the fold that did not train on it."""
        head = candidates.order[:self.depth]
        if not head:
            return list(candidates.order), {}
        rows = self.featurizer.rows(query, candidates, products, lexical, depth=self.depth)
        model = self.model
        if cross_validated:
            fold = self.fold_of(query)
            model = self.folds.get(fold, self.model) if fold is not None else self.model
        scores = model.predict(rows, num_threads=self.threads)
        ranked = np.argsort(-scores, kind="stable")
        order = [head[i] for i in ranked] + list(candidates.order[self.depth:])
        return order, {head[i]: float(scores[i]) for i in ranked}


def versions(root: Path) -> list[Path]:
    """Version folders under ``root``, newest first (temporary ones excluded); ``root`` itself when
    it is a version folder."""
    root = Path(root)
    if not root.is_dir():
        return []
    if (root / "meta.json").is_file():
        return [root]
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def load_newest(root: Path, threads: int = 1, with_folds: bool = False, encoder: str | None = None) -> Reranker | None:
    """The newest good re-ranker under ``root``, or None; either way one log line says which.
    With ``encoder`` (the serving encoder's name), a version trained on another encoder's dense
    scores is skipped (its dense features would mean something else)."""
    skipped = []
    for folder in versions(root):
        try:
            reranker = Reranker.load(folder, with_folds=with_folds, threads=threads)
        except RerankerError as exc:
            skipped.append(f"{folder.name}: {exc}")
            continue
        if not reranker.meta.get("good", False):
            skipped.append(f"{folder.name}: it did not beat plain hybrid in cross-validation")
            continue
        trained_on = (reranker.meta.get("about") or {}).get("encoder")
        if encoder and trained_on and _base(trained_on) != _base(encoder):
            skipped.append(f"{folder.name}: trained with encoder {trained_on}, search uses {encoder}")
            continue
        note = f" (skipped {'; '.join(skipped)})" if skipped else ""
        (log.warning if skipped else log.info)("re-ranker %s loaded, cross-validated NDCG@10 %.4f%s",
                                               folder, reranker.meta["cv"]["ndcg@10"], note)
        return reranker
    if skipped:
        log.warning("no usable re-ranker under %s (%s): search is plain hybrid", root, "; ".join(skipped))
    else:
        log.info("no re-ranker under %s: search is plain hybrid", root)
    return None


def _base(encoder_name: str) -> str:
    return encoder_name.removesuffix("-int8")

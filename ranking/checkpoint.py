"""Versioned recommender checkpoints: what is saved, where, and which one serving picks.

Layout (``<data_dir>/models/ranker/`` by default; ``train ranker --out DIR`` writes elsewhere)::

    models/ranker/
        20250601-101500/            # one version: UTC time it was written
            user_adapter/           # the fine-tuned BERT user tower as a peft LoRA adapter (~2 MB) over the
                                    # packaged MiniLM, or user_encoder/ (a whole sentence-transformers folder)
            heads.npz               # the trained item projection and history-mix gate (ranking.heads)
            curve.json, curve.png   # training loss and validation NDCG@10 per step; tensorboard/ (event files)
            checkpoint.json         # status ("good" | "failed"), training config and report, blend
                                    # weights, context settings, validation numbers, item-encoder path
            stats.npz               # item ids, popularity counts, co-occurrence pair counts, EASE weights and
                                    # their Gram matrix (all from the training users)
            split.json              # one-way digests of the training and validation users
            eval.json               # (optional) numbers from `shopassist eval recommend`

Items are embedded by the *frozen* packaged MiniLM (``item_encoder`` in checkpoint.json; the same
vectors the retrieval index holds) and then go through the checkpoint's trained item projection, so a
checkpoint carries the user tower (or its adapter) and the heads.

:func:`newest_good` picks the newest version whose status is ``good``; serving falls back to the
untrained encoder (and says so) when there is none.

Example::

    ckpt = newest_good(Path("var/models/ranker"))
    ckpt.blend.to_dict() if ckpt else "untrained fallback"
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy import sparse

from ranking.blend import BlendWeights

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.json"
USER_ENCODER_DIR = "user_encoder"
USER_ADAPTER_DIR = "user_adapter"


@dataclass
class ContextSettings:
    """How a user context is written and tokenised (must match between training and serving)."""

    words_per_item: int = 10
    context_items: int = 5
    max_seq_length: int = 64
    item_words: int = 32


@dataclass
class Checkpoint:
    """A loaded checkpoint folder (cheap: the model itself is loaded by the recommender)."""

    path: Path
    meta: dict

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def user_encoder_path(self) -> Path:
        return self.path / USER_ENCODER_DIR

    @property
    def user_adapter_path(self) -> Path:
        return self.path / USER_ADAPTER_DIR

    @property
    def has_user_tower(self) -> bool:
        return self.user_encoder_path.is_dir() or self.user_adapter_path.is_dir()

    def heads(self):
        """The trained item projection and history mix (identity for checkpoints without them)."""
        from ranking.heads import Heads

        return Heads.load(self.path)

    def load_user_tower(self, base=None):
        """The user tower: the packaged MiniLM (or ``base`` folder) with the LoRA adapter merged in, or the
        saved sentence-transformers folder. Always a fresh model object (never the item tower)."""
        from ranking.encoder import RecEncoder, set_transformer

        if self.user_adapter_path.is_dir():
            from peft import PeftModel

            encoder = RecEncoder.load(base, max_seq_length=self.context.max_seq_length)
            bert = encoder.model[0].auto_model
            set_transformer(encoder.model, PeftModel.from_pretrained(bert, str(self.user_adapter_path)).merge_and_unload())
            encoder.model.eval()
            encoder.path = self.user_adapter_path
            return encoder
        return RecEncoder.load(self.user_encoder_path, max_seq_length=self.context.max_seq_length)

    @property
    def item_encoder_path(self) -> Path | None:
        value = self.meta.get("item_encoder")
        return Path(value) if value else None

    @property
    def blend(self) -> BlendWeights:
        return BlendWeights.from_dict(self.meta.get("blend", {}))

    @property
    def context(self) -> ContextSettings:
        return ContextSettings(**self.meta.get("context", {}))

    @property
    def good(self) -> bool:
        return self.meta.get("status") == "good"

    def stats(self) -> tuple[list[str], np.ndarray, sparse.csr_matrix]:
        """(item ids, popularity counts, co-occurrence pair counts) from the training users."""
        with np.load(self.path / "stats.npz", allow_pickle=False) as data:
            ids = [str(x) for x in data["item_ids"]]
            counts = data["popularity"].astype(np.float32)
            pairs = _stored_matrix(data, "co", len(ids))
        return ids, counts, pairs

    def ease(self) -> tuple["Ease", sparse.csr_matrix] | None:
        """The fitted EASE weights and the Gram matrix they came from (None for checkpoints without them)."""
        from ranking.baselines import Ease

        with np.load(self.path / "stats.npz", allow_pickle=False) as data:
            if "ease_vals" not in data:
                return None
            n = len(data["item_ids"])
            return Ease(_stored_matrix(data, "ease", n), float(data["ease_decay"])), _stored_matrix(data, "gram", n)

    def split_digests(self) -> set[str]:
        """Digests of every user used for training or blend fitting (to keep them out of evaluation)."""
        path = self.path / "split.json"
        if not path.exists():
            return set()
        data = json.loads(path.read_text())
        return set(data.get("train", [])) | set(data.get("valid", []))

    @classmethod
    def load(cls, path: str | Path) -> "Checkpoint":
        """Open a version folder (or a folder holding versions: the newest good one inside it)."""
        path = Path(path)
        if not (path / CHECKPOINT_FILE).exists():
            found = newest_good(path)
            if found is None:
                raise FileNotFoundError(f"{path} holds no good recommender checkpoint ({CHECKPOINT_FILE}); "
                                        "train one with `shopassist train ranker --items ... --sequences ...`")
            return found
        return cls(path, json.loads((path / CHECKPOINT_FILE).read_text()))


def new_version_dir(root: Path) -> Path:
    """A fresh, empty version folder under ``root`` named by the UTC time (suffixed if taken)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def _stored_matrix(data, name: str, n_items: int) -> sparse.csr_matrix:
    """An n x n matrix saved by :func:`save_stats` as ``<name>_rows/_cols/_vals``."""
    return sparse.csr_matrix((data[f"{name}_vals"], (data[f"{name}_rows"], data[f"{name}_cols"])),
                             shape=(n_items, n_items))


def save_stats(path: Path, item_ids: list[str], popularity: np.ndarray, pairs: sparse.csr_matrix,
               ease=None, gram: sparse.csr_matrix | None = None) -> None:
    """Write stats.npz: popularity, pair counts and (optionally) the EASE weights with their Gram matrix."""
    arrays = {"item_ids": np.asarray(item_ids, dtype=str), "popularity": np.asarray(popularity, np.float32)}
    named = {"co": pairs}
    if ease is not None and gram is not None:
        named.update(ease=ease.weights, gram=gram)
        arrays["ease_decay"] = np.float32(ease.decay)
    for name, matrix in named.items():
        coo = matrix.tocoo()
        arrays.update({f"{name}_rows": coo.row.astype(np.int32), f"{name}_cols": coo.col.astype(np.int32),
                       f"{name}_vals": coo.data.astype(np.float32)})
    np.savez_compressed(path / "stats.npz", **arrays)


def write_meta(path: Path, meta: dict) -> None:
    """Write checkpoint.json atomically (a half-written file must never look 'good')."""
    tmp = path / (CHECKPOINT_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    tmp.replace(path / CHECKPOINT_FILE)


def newest_good(root: str | Path) -> Checkpoint | None:
    """The newest version under ``root`` with status ``good`` (None when there is none)."""
    root = Path(root)
    if not root.is_dir():
        return None
    for child in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        meta_path = child / CHECKPOINT_FILE
        if not meta_path.exists():
            continue
        try:
            ckpt = Checkpoint(child, json.loads(meta_path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping unreadable checkpoint %s: %s", child, exc)
            continue
        if ckpt.good and ckpt.has_user_tower:
            return ckpt
    return None

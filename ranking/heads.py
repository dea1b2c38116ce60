"""The small trained parts on top of the two BERT towers: an item projection and a history mix.

Both are tiny (one 384 x 384 matrix, a bias and a scalar), saved as ``heads.npz`` in a checkpoint,
and applied the same way in training (torch) and serving (numpy):

- **item projection** (the trained item side): ``item = normalise(v + v @ W.T + b)`` over the frozen
  MiniLM item vector ``v`` (the one retrieval holds). ``W`` starts at zero, so an untrained head is
  the identity. Every catalogue vector is re-computed through it (cheap: one matrix product), so the
  item side learns without re-encoding the catalogue per step.
- **item residual** (optional, collaborative): one trained vector per item id seen in training, added
  before the normalisation: ``normalise(v + v @ W.T + b + r[id])``. It starts at zero and learns what
  the text alone cannot say (which items are bought after which). Items it never saw (a new
  catalogue, a new product) get no residual: the text side alone, as before.
- **history mix**: the user vector is ``normalise(normalise(tower(context)) + gate * h)`` where ``h``
  is the weighted mean of the projected vectors of the context's items (weight = event-kind weight x
  ``decay`` per step back, newest 1). The measured reason: a recency-weighted mean of item vectors is
  a strong untrained recommender on its own (docs/ranking.md), and the gate lets training decide how
  much of it to keep next to the fine-tuned tower.

Example::

    heads = Heads.identity(384)
    items = heads.items(raw_item_vectors)                        # (n_items, 384), unit rows
    user = heads.user(tower_vectors, [[3, 5]], [[1.0, 0.2]], items)   # (1, 384)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADS_FILE = "heads.npz"


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass
class Heads:
    """Item projection (``weight``, ``bias``) and history mix (``gate``, ``decay``); see the module docstring."""

    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    gate: float = 0.0
    decay: float = 0.5
    residual_ids: list[str] | None = None
    residual: np.ndarray | None = None

    def __post_init__(self):
        self._row = {i: n for n, i in enumerate(self.residual_ids or [])}

    @classmethod
    def identity(cls, gate: float = 0.0, decay: float = 0.5) -> "Heads":
        """No projection; ``gate`` > 0 still mixes in the history mean (the untrained fallback uses 1.0)."""
        return cls(None, None, gate, decay)

    @property
    def projects(self) -> bool:
        return self.weight is not None and bool(np.any(self.weight)) or (self.bias is not None and bool(np.any(self.bias)))

    def residual_rows(self, ids: Sequence[str]) -> tuple[list[int], list[int]]:
        """(positions in ``ids``, rows of ``residual``) of the ids that have a trained residual."""
        pairs = [(n, self._row[i]) for n, i in enumerate(ids) if i in self._row]
        return [p for p, _ in pairs], [r for _, r in pairs]

    def items(self, vectors: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
        """Project raw (frozen-tower) item vectors into the trained item space (unit rows).

        ``ids`` (one per row) add each known item's residual; without them only the projection applies.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        positions, rows = self.residual_rows(ids) if ids is not None and self._row else ([], [])
        if vectors.size == 0 or not (self.projects or positions):
            return vectors
        out = vectors + vectors @ self.weight.T if self.weight is not None else vectors.copy()
        if self.bias is not None:
            out = out + self.bias
        if positions:
            out[positions] += self.residual[rows].astype(np.float32)
        return _normalise(out)

    def without_residual(self) -> "Heads":
        """The same heads minus the per-item residual (a checkpoint for another catalogue)."""
        return Heads(self.weight, self.bias, self.gate, self.decay)

    def history_mean(self, recent: Sequence[int], weights: Sequence[float] | None, item_vectors: np.ndarray) -> np.ndarray:
        """Weighted mean of ``item_vectors[recent]`` (chronological; newest last, weight ``decay`` per step back)."""
        if not len(recent):
            return np.zeros(item_vectors.shape[1], dtype=np.float32)
        n = len(recent)
        w = self.decay ** np.arange(n - 1, -1, -1, dtype=np.float32)
        if weights is not None:
            w = w * np.asarray(weights, dtype=np.float32)
        vec = (w[:, None] * item_vectors[list(recent)]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        return (vec / norm).astype(np.float32) if norm > 0 else vec.astype(np.float32)

    def user(self, tower: np.ndarray, recent: Sequence[Sequence[int]], weights: Sequence[Sequence[float]] | None,
             item_vectors: np.ndarray) -> np.ndarray:
        """User vectors from tower outputs (rows) and each row's recent item indices into ``item_vectors``.

        ``item_vectors`` must already be projected (:meth:`items`). A row with an all-zero tower vector
        (no context text) gets the history mean alone.
        """
        tower = _normalise(np.asarray(tower, dtype=np.float32))
        if not self.gate:
            return tower
        mix = np.stack([self.history_mean(r, weights[n] if weights is not None else None, item_vectors)
                        for n, r in enumerate(recent)]) if len(recent) else np.zeros_like(tower)
        return _normalise(tower + self.gate * mix)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        path = Path(folder) / HEADS_FILE
        dim = self.weight.shape[0] if self.weight is not None else 0
        residual = self.residual if self.residual is not None else np.zeros((0, 0), np.float16)
        np.savez(path, weight=self.weight if self.weight is not None else np.zeros((0, 0), np.float32),
                 bias=self.bias if self.bias is not None else np.zeros(dim, np.float32),
                 gate=np.float32(self.gate), decay=np.float32(self.decay),
                 residual=residual.astype(np.float16), residual_ids=np.array(self.residual_ids or [], dtype=str))
        return path

    @classmethod
    def load(cls, folder: Path) -> "Heads":
        """Heads saved in ``folder``; the identity (no mix) when the checkpoint has none (older versions)."""
        path = Path(folder) / HEADS_FILE
        if not path.exists():
            return cls.identity()
        with np.load(path, allow_pickle=False) as data:
            weight = data["weight"].astype(np.float32)
            bias = data["bias"].astype(np.float32)
            residual = data["residual"].astype(np.float32) if "residual" in data.files else np.zeros((0, 0))
            ids = [str(i) for i in data["residual_ids"]] if "residual_ids" in data.files else []
            return cls(weight if weight.size else None, bias if bias.size else None,
                       float(data["gate"]), float(data["decay"]),
                       ids if residual.size else None, residual if residual.size else None)

    def digest(self) -> str:
        """Short content hash (cache keys of projected catalogue matrices)."""
        import hashlib

        h = hashlib.sha256()
        for part in (self.weight, self.bias, self.residual):
            if part is not None:
                h.update(np.ascontiguousarray(part).tobytes())
        h.update(f"{self.gate:.6f}|{self.decay:.6f}".encode())
        return h.hexdigest()[:12]

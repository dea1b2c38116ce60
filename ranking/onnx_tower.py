"""The user tower on ONNX Runtime, for the one short context a served turn encodes (training stays on torch).

A checkpoint's tower (LoRA merged) is saved once as a sentence-transformers folder and exported by
:mod:`retrieval.onnx_embedder` (transformer, mean pooling and L2 norm in one graph) under
``<data_dir>/models/ranker-onnx/<version>/``; later loads reuse the export. The vectors equal torch's
(``tests/ranking/test_onnx_tower.py``: cosine >= 0.999), so blend weights and heads apply unchanged.

Example::

    tower = load_onnx_tower(ckpt.load_user_tower(), Path("var/models/ranker-onnx") / ckpt.version)
    tower.encode_contexts(["query: gloves | nitrile gloves, large"])     # (1, 384)
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ranking.encoder import RecEncoder

log = logging.getLogger(__name__)


class OnnxTower:
    """``encode_contexts`` of a :class:`ranking.encoder.RecEncoder`, run by ONNX Runtime."""

    def __init__(self, embedder):
        self.embedder = embedder

    def encode_contexts(self, contexts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(list(contexts), batch_size=max(1, len(contexts)))


def _saved_tower(encoder: RecEncoder, folder: Path) -> Path:
    """A sentence-transformers folder holding ``encoder``, saved once (with its ``max_seq_length``: same truncation)."""
    target = folder / "tower"
    if not (target / "modules.json").exists():
        tmp = folder / f".tower-{secrets.token_hex(3)}"
        encoder.model.save(str(tmp))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    return target


def load_onnx_tower(encoder: RecEncoder, folder: Path, threads: int = 1) -> OnnxTower | None:
    """The ONNX Runtime copy of ``encoder`` (exported into ``folder`` once), or None with a log line."""
    try:
        from retrieval.onnx_embedder import OnnxEmbedder

        folder.mkdir(parents=True, exist_ok=True)
        return OnnxTower(OnnxEmbedder(_saved_tower(encoder, folder), cache=folder / "onnx", threads=threads))
    except Exception as exc:  # noqa: BLE001 - any export/runtime failure: serve with torch instead
        log.warning("user tower on ONNX Runtime unavailable (%s): using torch", exc)
        return None

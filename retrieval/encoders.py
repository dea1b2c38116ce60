"""Choosing the sentence encoder's backend from the settings (``SHOPASSIST_ENCODER_BACKEND``).

- ``torch``: :class:`retrieval.embedder.Embedder` (sentence-transformers; also what training uses);
- ``onnx``: :class:`retrieval.onnx_embedder.OnnxEmbedder`, fp32 (the same vectors as torch);
- ``onnx-int8``: the partially int8-quantised export (``retrieval.onnx_embedder.int8_nodes``; cosine ≥ 0.99
  to torch; its own collection name: its vectors differ slightly). The fastest for ingest.

Measured in docs/search.md (speed and the NDCG@10 difference).
"""
from __future__ import annotations

from catalog.settings import Settings


def make_embedder(settings: Settings, threads: int | None = None, model_path=None):
    """The encoder ``settings`` ask for (``threads`` defaults to ``settings.torch_threads``);
    ``model_path`` (e.g. a fine-tuned version folder) replaces ``settings.embedding_model``."""
    threads = threads or settings.torch_threads
    backend = settings.encoder_backend
    model_path = model_path or settings.embedding_model
    if backend == "torch":
        from retrieval.embedder import Embedder

        return Embedder(model_path, threads=threads)
    from retrieval.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(model_path, settings.data_dir / "models" / "encoder-onnx",
                        int8=backend == "onnx-int8", threads=threads)


def collection_suffix(settings: Settings) -> str:
    """What the backend adds to the model's name (see ``OnnxEmbedder.name``)."""
    return "-int8" if settings.encoder_backend == "onnx-int8" else ""

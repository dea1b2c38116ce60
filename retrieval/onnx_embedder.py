"""The MiniLM sentence encoder on ONNX Runtime: the ingest's fast path (torch stays for training).

The packaged sentence-transformers folder (or any BERT-style one) is exported once with
``torch.onnx.export`` — the transformer, mean pooling and L2 normalisation in one graph — and,
for ``int8``, dynamically quantised (``onnxruntime.quantization.quantize_dynamic``). Exports are
cached under ``<cache>/<model name>/`` (``model.onnx``, ``model.int8.onnx``, ``export.json``);
the default cache is ``<data_dir>/models/encoder-onnx``. ``tests/retrieval/test_onnx_embedder.py``
checks the vectors against torch (cosine ≥ 0.99).

Example::

    embedder = OnnxEmbedder(cache=Path("var/models/encoder-onnx"), int8=True, threads=2)
    vectors = embedder.encode(["red running shoes"])   # (1, 384) float32, unit length
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import numpy as np

from retrieval.embedder import default_model_path, model_name

OPSET = 17


def export(model_path: Path, folder: Path, int8: bool) -> Path:
    """Write (once) the ONNX export of ``model_path`` into ``folder``; returns the .onnx file to load."""
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        _export_fp32(model_path, fp32)
    if not int8:
        return fp32
    quantised = folder / "model.int8.onnx"
    if not quantised.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / f".int8-{secrets.token_hex(3)}.onnx"
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, quantised)
    return quantised


def _export_fp32(model_path: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    bert = st[0].auto_model.eval()

    class Pooled(torch.nn.Module):  # the sentence-transformers pipeline: mean pooling, then L2 norm
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = st.tokenize(["a sample sentence for tracing", "two"])
    tmp = target.with_name(f".export-{secrets.token_hex(3)}.onnx")
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(Pooled(), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                          str(tmp), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["embedding"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "embedding": {0: "batch"}})
    os.replace(tmp, target)
    (target.parent / "export.json").write_text(json.dumps(
        {"source": str(model_path), "max_seq_length": st.max_seq_length, "torch": torch.__version__, "opset": OPSET}))


class OnnxEmbedder:
    """Same interface as :class:`retrieval.embedder.Embedder` (``encode``, ``name``, ``dimension``).

    Args:
        model_path: the sentence-transformers folder to export (default: the packaged MiniLM).
        cache: folder for the exports.
        int8: use the dynamically quantised model (its ``name`` says so: other vectors, other collection).
        threads: ONNX Runtime intra-op threads.
    """

    ingest_batch = 32  # measured fastest for ingest (242/s vs 211/s at 128; docs/search.md)

    def __init__(self, model_path: str | Path | None = None, cache: Path | None = None, int8: bool = False,
                 threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = Path(model_path) if model_path else default_model_path()
        self.int8 = int8
        folder = Path(cache or Path("var/models/encoder-onnx")) / model_name(self.path)
        onnx_file = export(self.path, folder, int8)
        max_len = json.loads((folder / "export.json").read_text()).get("max_seq_length", 256)
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_len)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[1] or 384) if self.session.get_outputs() else 384

    @property
    def name(self) -> str:
        """The torch model's name (fp32 vectors match it), plus ``-int8`` for the quantised model."""
        return model_name(self.path) + ("-int8" if self.int8 else "")

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            picks = order[start:start + batch_size]
            width = max(len(encoded[i].ids) for i in picks)
            ids = np.zeros((len(picks), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(picks):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            out[picks] = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                                 "token_type_ids": np.zeros_like(ids)})[0]
        return out

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

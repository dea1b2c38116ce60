"""The MiniLM sentence encoder on ONNX Runtime: the ingest's fast path (torch stays for training).

The packaged sentence-transformers folder (or any BERT-style one) is exported once with
``torch.onnx.export`` — the transformer, mean pooling and L2 normalisation in one graph — and,
for ``int8``, partially quantised (``onnxruntime.quantization.quantize_dynamic`` on the weight
MatMuls in :func:`int8_nodes` only: the ones whose int8 error is smallest). Exports are cached under
``<cache>/<model name>/`` (``model.onnx``, ``model.int8p.onnx``, ``export.json``); the default cache
is ``<data_dir>/models/encoder-onnx``; a cached file that does not load is rebuilt (one warning).
``tests/retrieval/test_onnx_embedder.py`` checks the vectors against torch: fp32 cosine ≥ 0.9999,
int8 ≥ 0.99 for every text.

Example::

    embedder = OnnxEmbedder(cache=Path("var/models/encoder-onnx"), int8=True, threads=2)
    vectors = embedder.encode(["red running shoes"])   # (1, 384) float32, unit length
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from retrieval.embedder import default_model_path, model_name

log = logging.getLogger(__name__)
OPSET = 17
INT8_FILE = "model.int8p.onnx"  # renamed when int8_nodes changes, so an old cached file is not reused
_WEIGHT_MATMUL = re.compile(r"layer\.(\d+)/(attention/self/query|attention/self/key|attention/output/dense"
                            r"|intermediate/dense|output/dense)/MatMul$")


def export(model_path: Path, folder: Path, int8: bool) -> Path:
    """Write (once) the ONNX export of ``model_path`` into ``folder``; returns the .onnx file to load."""
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        _export_fp32(model_path, fp32)
    if not int8:
        return fp32
    quantised = folder / INT8_FILE
    if not quantised.is_file():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        nodes = int8_nodes([n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node])
        if not nodes:
            log.warning("%s: no MatMul has the expected BERT names; int8 falls back to fp32", fp32)
            return fp32
        tmp = folder / f".int8-{secrets.token_hex(3)}.onnx"
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, nodes_to_quantize=nodes)
        os.replace(tmp, quantised)
    return quantised


def int8_nodes(names: list[str]) -> list[str]:
    """The MatMuls to quantise: attention query, key and output projections of every layer, the FFN
    input of the first two and the last layer, the FFN output of the last two. Measured one node at a
    time on MiniLM-L6: these cost least cosine (value projections, the middle FFNs and the first FFN
    output cost most); 23 of 36 weight MatMuls, 53 % of their FLOPs (docs/search.md)."""
    found = [(n, int(m.group(1)), m.group(2)) for n in names if (m := _WEIGHT_MATMUL.search(n))]
    if not found:
        return []
    last = max(layer for _, layer, _ in found)
    keep = {"intermediate/dense": {0, 1, last}, "output/dense": {last - 1, last}}
    return [n for n, layer, part in found if part.startswith("attention/") or layer in keep[part]]


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
        int8: use the partially quantised model (its ``name`` says so: other vectors, other collection).
        threads: CPU threads: the intra-op threads of one call (a query), or the workers of a
            many-batch encode, each running whole batches on a one-thread session (759 vs 635 titles/s
            with two intra-op threads on two cores, docs/search.md; the same vectors).
    """

    ingest_batch = 32  # measured fastest for ingest (docs/search.md)

    def __init__(self, model_path: str | Path | None = None, cache: Path | None = None, int8: bool = False,
                 threads: int | None = None):
        from tokenizers import Tokenizer

        self.path = Path(model_path) if model_path else default_model_path()
        self.int8 = int8
        self.threads = threads or os.cpu_count() or 1
        folder = Path(cache or Path("var/models/encoder-onnx")) / model_name(self.path)
        self.file = export(self.path, folder, int8)
        try:
            self.session = self._session(self.threads)
        except Exception as exc:  # a truncated or corrupt cache file (ORT raises several types)
            log.warning("ONNX cache %s does not load (%s); exporting it again", folder, str(exc).splitlines()[0][:200])
            for stale in (folder / "model.onnx", folder / INT8_FILE):
                stale.unlink(missing_ok=True)
            self.file = export(self.path, folder, int8)
            self.session = self._session(self.threads)
        self._bulk = None  # the one-thread session of many-batch encodes, made on first use
        max_len = json.loads((folder / "export.json").read_text()).get("max_seq_length", 256)
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_len)
        self.tokenizer.no_padding()
        self.dimension = int(self.session.get_outputs()[0].shape[1] or 384) if self.session.get_outputs() else 384

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.file), options, providers=["CPUExecutionProvider"])

    @property
    def name(self) -> str:
        """The torch model's name (fp32 vectors match it), plus ``-int8`` for the quantised model
        (the re-ranker strips that suffix: its vectors are within cosine 0.99 of torch's)."""
        return model_name(self.path) + ("-int8" if self.int8 else "")

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")  # similar lengths share a batch
        batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)

        def run(session, picks):
            width = max(len(encoded[i].ids) for i in picks)
            ids = np.zeros((len(picks), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(picks):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            out[picks] = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                            "token_type_ids": np.zeros_like(ids)})[0]

        if len(batches) == 1 or self.threads == 1:
            for picks in batches:
                run(self.session, picks)
            return out
        if self._bulk is None:
            self._bulk = self._session(1)
        with ThreadPoolExecutor(self.threads) as pool:  # ONNX Runtime releases the GIL in run()
            list(pool.map(lambda picks: run(self._bulk, picks), batches))
        return out

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

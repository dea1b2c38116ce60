"""The ONNX Runtime export of the packaged MiniLM gives the torch vectors (fp32 and partial int8)."""
import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from retrieval.onnx_embedder import INT8_FILE, OnnxEmbedder, int8_nodes

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small" / "products.csv"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def titles(n: int = 200) -> list[str]:
    with open(SAMPLE, newline="", encoding="utf-8") as handle:
        rows = [r["product_title"] for r in csv.DictReader(handle)][:n]
    return rows + ["", "a", "18v cordless drill " * 60]  # empty, one letter, past the 256-token limit


# fp32: every vector matches; partial int8: every text ≥ 0.99 (the bar; measured worst here
# ~0.996, the empty text; over the whole Home Depot catalogue 0.994)
@pytest.mark.parametrize("int8, floor, mean_floor", [(False, 0.9999, 0.9999), (True, 0.99, 0.997)])
def test_onnx_vectors_match_torch(embedder, cache, int8, floor, mean_floor):
    onnx_embedder = OnnxEmbedder(cache=cache, int8=int8, threads=2)
    texts = titles()
    expected = embedder.encode(texts)
    got = onnx_embedder.encode(texts, batch_size=32)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() >= floor, f"worst cosine {cosines.min():.5f} ({texts[int(cosines.argmin())][:40]!r})"
    assert cosines.mean() >= mean_floor, f"mean cosine {cosines.mean():.5f}"
    assert onnx_embedder.name == embedder.name + ("-int8" if int8 else "")
    assert onnx_embedder.encode([]).shape == (0, expected.shape[1])


def test_int8_quantises_the_chosen_matmuls(embedder, cache):
    OnnxEmbedder(cache=cache, int8=True, threads=1)
    folder = cache / embedder.name
    names = [n.name for n in onnx.load(str(folder / "model.onnx"), load_external_data=False).graph.node]
    chosen = int8_nodes(names)
    assert len(chosen) == 23  # 18 attention q/k/out + FFN in of layers 0, 1, 5 + FFN out of layers 4, 5
    assert not any("self/value" in n for n in chosen)
    assert not any(f"layer.{i}/output/dense" in n for n in chosen for i in range(4))
    ops = [n.op_type for n in onnx.load(str(folder / INT8_FILE), load_external_data=False).graph.node]
    assert ops.count("MatMulInteger") == 23
    assert int8_nodes(["/embeddings/Gather", "MatMul_1"]) == []


def test_export_is_cached(embedder, cache):
    OnnxEmbedder(cache=cache, threads=1)
    folder = cache / embedder.name
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    OnnxEmbedder(cache=cache, threads=1)
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp and (folder / "export.json").is_file()


def test_missing_or_corrupt_int8_file_is_rebuilt(embedder, cache, tmp_path, caplog):
    shutil.copytree(cache / embedder.name, tmp_path / embedder.name)  # a built cache, to damage
    target = tmp_path / embedder.name / INT8_FILE
    reference = OnnxEmbedder(cache=tmp_path, int8=True, threads=1).encode(titles(20))
    target.unlink()
    assert np.allclose(OnnxEmbedder(cache=tmp_path, int8=True, threads=1).encode(titles(20)), reference, atol=1e-5)
    target.write_bytes(target.read_bytes()[:1000])  # truncated
    with caplog.at_level(logging.WARNING, logger="retrieval.onnx_embedder"):
        rebuilt = OnnxEmbedder(cache=tmp_path, int8=True, threads=1)
    ours = [r.getMessage() for r in caplog.records if r.name == "retrieval.onnx_embedder"]
    assert len(ours) == 1 and "does not load" in ours[0], ours
    assert np.allclose(rebuilt.encode(titles(20)), reference, atol=1e-5)
    assert target.stat().st_size > 1000

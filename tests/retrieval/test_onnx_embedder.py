"""The ONNX Runtime export of the packaged MiniLM gives the torch vectors (fp32 and int8)."""
import csv
from pathlib import Path

import numpy as np
import pytest

from retrieval.onnx_embedder import OnnxEmbedder

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small" / "products.csv"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def titles(n: int = 200) -> list[str]:
    with open(SAMPLE, newline="", encoding="utf-8") as handle:
        rows = [r["product_title"] for r in csv.DictReader(handle)][:n]
    return rows + ["", "a", "18v cordless drill " * 60]  # empty, one letter, past the 256-token limit


# fp32: every vector matches; int8 (dynamic, per-channel): close on average, but its worst titles fall
# to ~0.97, below the 0.99, which is why it is not the default (docs/search.md)
@pytest.mark.parametrize("int8, floor, mean_floor", [(False, 0.9999, 0.9999), (True, 0.95, 0.99)])
def test_onnx_vectors_match_torch(embedder, cache, int8, floor, mean_floor):
    onnx = OnnxEmbedder(cache=cache, int8=int8, threads=2)
    texts = titles()
    expected = embedder.encode(texts)
    got = onnx.encode(texts, batch_size=32)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() >= floor, f"worst cosine {cosines.min():.5f}"
    assert cosines.mean() >= mean_floor, f"mean cosine {cosines.mean():.5f}"
    assert onnx.name == embedder.name + ("-int8" if int8 else "")
    assert onnx.encode([]).shape == (0, expected.shape[1])


def test_export_is_cached(embedder, cache):
    OnnxEmbedder(cache=cache, threads=1)
    folder = cache / embedder.name
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    OnnxEmbedder(cache=cache, threads=1)
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp and (folder / "export.json").is_file()

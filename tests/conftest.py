"""Shared fixtures: the real MiniLM embedder (loaded once), the mini catalog, isolated settings."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # llama.cpp threads must not spin on a shared machine

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedder import Embedder

    return Embedder(threads=2)


@pytest.fixture
def mini_catalog_path() -> Path:
    """40 real demo products (20 Flipkart, 20 Amazon UK toys)."""
    return FIXTURES / "mini_catalog.jsonl"


@pytest.fixture
def settings(tmp_path):
    from catalog.settings import Settings

    # torch for the per-turn user-tower pass: an ONNX export per test folder would cost ~10 s each;
    # tests/ranking/test_onnx_tower.py covers the served default (onnx)
    return Settings(data_dir=tmp_path / "data", ranker_backend="torch")

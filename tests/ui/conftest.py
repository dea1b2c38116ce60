"""Fixtures for the ui tests: a server on a fake backend (fast, deterministic) and helpers.

The end-to-end browser test (test_ui_e2e.py) does not use the fake: it starts the real server.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from catalog.settings import Settings  # noqa: E402
from ui.server import create_app  # noqa: E402
from ui_fakes import FakeBackend  # noqa: E402
from ui_helpers import AGENT_KEY, ROOMY  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", agent_api_key=AGENT_KEY, user_id_key="test-user-key")


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def app(settings: Settings, backend: FakeBackend):
    return create_app(settings, backend=backend, limits=ROOMY)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


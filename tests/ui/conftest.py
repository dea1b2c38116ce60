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
from ui.ratelimit import Limit, RateLimits  # noqa: E402
from ui.server import create_app  # noqa: E402
from ui_fakes import FakeBackend  # noqa: E402

AGENT_KEY = "test-agent-key-0123456789"
AGENT = {"X-API-Key": AGENT_KEY}
ROOMY = RateLimits(session=Limit(10_000, 60), agent_key=Limit(10_000, 60), client=Limit(10_000, 60))


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


def start_session(client: TestClient, user_id: str | None = None) -> tuple[str, dict[str, str]]:
    """POST /sessions; returns (session_id, headers carrying its token)."""
    body = {"user_id": user_id} if user_id else {}
    answer = client.post("/api/v1/sessions", json=body)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return data["session_id"], {"X-Session-Token": data["token"]}

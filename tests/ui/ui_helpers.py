"""Helpers shared by the ui tests (importable as ``ui_helpers``; conftest.py is not importable by name)."""
from __future__ import annotations

from fastapi.testclient import TestClient

from ui.ratelimit import Limit, RateLimits

AGENT_KEY = "test-agent-key-0123456789"
AGENT = {"X-API-Key": AGENT_KEY}
ROOMY = RateLimits(session=Limit(10_000, 60), agent_key=Limit(10_000, 60), client=Limit(10_000, 60))


def start_session(client: TestClient, user_id: str | None = None) -> tuple[str, dict[str, str]]:
    """POST /sessions; returns (session_id, headers carrying its token)."""
    body = {"user_id": user_id} if user_id else {}
    answer = client.post("/api/v1/sessions", json=body)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return data["session_id"], {"X-Session-Token": data["token"]}

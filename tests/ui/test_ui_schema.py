"""Property-based tests against the OpenAPI schema (schemathesis, positive and negative inputs): no 500.

Cases carry a valid agent key and, where the case names a session, that session's valid token,
so the generated inputs reach the handlers rather than stopping at 401.
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, settings as hsettings

from catalog.settings import Settings
from ui.security import SESSION_TOKEN_HEADER, SessionTokens
from ui.server import create_app
from ui_fakes import FakeBackend
from ui_helpers import AGENT_KEY, ROOMY

USER_KEY = "schema-user-key"
APP = create_app(Settings(data_dir="var/test-schema", agent_api_key=AGENT_KEY, user_id_key=USER_KEY),
                 backend=FakeBackend(), limits=ROOMY, warm=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Valid and invalid inputs both: bad input must get a 4xx, never a 500.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
TOKENS = SessionTokens(USER_KEY)


def _session_and_user(case) -> tuple[str | None, str | None]:
    body = case.body if isinstance(case.body, dict) else {}
    query = case.query or {}
    path = case.path_parameters or {}
    session_id = body.get("session_id") or query.get("session_id") or path.get("session_id")
    user_id = body.get("user_id") or query.get("user_id") or path.get("user_id")
    return (session_id if isinstance(session_id, str) else None), (user_id if isinstance(user_id, str) else None)


@schema.parametrize()
@hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    headers = {"X-API-Key": AGENT_KEY}
    session_id, user_id = _session_and_user(case)
    if session_id:
        headers[SESSION_TOKEN_HEADER] = TOKENS.issue(session_id, user_id)
    response = case.call(headers=headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}"
    ctype = response.headers.get("content-type") or ""
    if "text/event-stream" in (" ".join(ctype) if isinstance(ctype, list) else ctype):
        assert "event: done" in response.text  # POST /chat/stream: server-sent events
        return
    data = json.loads(response.text)  # every API answer is JSON, errors included
    if response.status_code >= 400:
        assert "detail" in data, response.text


def test_schema_lists_every_endpoint():
    paths = set(APP.openapi()["paths"])
    expected = {"/api/v1/chat", "/api/v1/events", "/api/v1/users/{user_id}/recommendations", "/api/v1/escalations",
                "/api/v1/escalations/{escalation_id}", "/api/v1/escalations/{escalation_id}/messages",
                "/api/v1/sessions", "/healthz", "/readyz"}
    assert expected <= paths
    with pytest.raises(KeyError):
        APP.openapi()["paths"]["/"]  # the Gradio page is not part of the API schema

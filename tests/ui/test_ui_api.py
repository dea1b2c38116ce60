"""HTTP API tests with FastAPI's TestClient on the fake backend."""
from __future__ import annotations

import logging
import threading
import time

from fastapi.testclient import TestClient

from ui_helpers import AGENT, start_session
from ui.backend import WriteTracker
from ui.logs import JsonFormatter


def test_probes(client, backend):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    backend.ready = False
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["checks"]["backend"] == "loading"


def test_chat_answers_exactly_reply_to_json(client, backend):
    sid, headers = start_session(client, "alice")
    answer = client.post("/api/v1/chat", json={"session_id": sid, "user_id": "alice", "message": "wooden train"},
                         headers=headers)
    assert answer.status_code == 200
    assert answer.json() == backend.respond(sid, "wooden train", user_id="alice").to_json()
    assert answer.json()["products"][0]["id"] == "toy-1"
    assert answer.headers["x-request-id"]


def test_chat_is_scoped_to_the_session_and_user(client):
    sid, headers = start_session(client, "alice")
    other_sid, other_headers = start_session(client)
    body = {"session_id": sid, "user_id": "alice", "message": "hi"}
    assert client.post("/api/v1/chat", json=body).status_code == 401
    assert client.post("/api/v1/chat", json=body, headers=other_headers).status_code == 403
    assert client.post("/api/v1/chat", json={**body, "user_id": "mallory"}, headers=headers).status_code == 403
    assert client.post("/api/v1/chat", json={**body, "session_id": other_sid}, headers=headers).status_code == 403
    assert "POST /api/v1/sessions" in client.post("/api/v1/chat", json=body).json()["detail"]


def test_bad_input_gets_a_clear_4xx(client):
    sid, headers = start_session(client)
    cases = [
        ({"session_id": sid, "message": "   "}, 422, "message"),
        ({"session_id": sid, "message": "x" * 2001}, 422, "2000"),
        ({"session_id": sid, "message": "hi", "extra": 1}, 422, "extra"),
        ({"session_id": "bad id!", "message": "hi"}, 422, "session_id"),
        ({"message": "hi"}, 422, "session_id"),
    ]
    for body, code, words in cases:
        answer = client.post("/api/v1/chat", json=body, headers=headers)
        assert answer.status_code == code, (body, answer.text)
        assert words in answer.json()["detail"], answer.json()
    answer = client.post("/api/v1/chat", content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 422
    answer = client.post("/api/v1/chat", content=b"x" * 70_000, headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 413 and "too large" in answer.json()["detail"]


def test_events_change_the_next_answer(client, backend):
    sid, headers = start_session(client, "bob")
    ask = {"session_id": sid, "user_id": "bob", "message": "toy"}
    before = client.post("/api/v1/chat", json=ask, headers=headers).json()["products"]
    event = {"session_id": sid, "user_id": "bob", "item_id": "toy-4", "kind": "add_to_cart"}
    answer = client.post("/api/v1/events", json=event, headers=headers)
    assert answer.status_code == 202 and answer.json()["recorded"] is True
    after = client.post("/api/v1/chat", json=ask, headers=headers).json()["products"]
    assert before != after and after[0]["id"] == "toy-4"
    assert client.post("/api/v1/events", json={**event, "item_id": "nope"}, headers=headers).status_code == 404
    assert client.post("/api/v1/events", json={**event, "kind": "steal"}, headers=headers).status_code == 422
    raw = ('{"session_id": "%s", "user_id": "bob", "item_id": "toy-1", "kind": "rating", "value": 1e999}' % sid)
    answer = client.post("/api/v1/events", content=raw.encode(), headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 422, answer.text


def test_anonymous_feedback_changes_that_sessions_answer_only(client):
    sid, headers = start_session(client)
    other, other_headers = start_session(client)
    client.post("/api/v1/events", json={"session_id": sid, "item_id": "toy-4", "kind": "purchase"}, headers=headers)
    mine = client.post("/api/v1/chat", json={"session_id": sid, "message": "toy"}, headers=headers).json()
    theirs = client.post("/api/v1/chat", json={"session_id": other, "message": "toy"}, headers=other_headers).json()
    assert mine["products"][0]["id"] == "toy-4" and theirs["products"][0]["id"] != "toy-4"


def test_recommendations_need_agent_key_or_own_session(client):
    sid, headers = start_session(client, "carol")
    url = "/api/v1/users/carol/recommendations"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "wrong"}).status_code == 403
    assert len(client.get(url + "?k=2", headers=AGENT).json()["products"]) == 2
    assert client.get(f"{url}?session_id={sid}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/users/dave/recommendations?session_id={sid}", headers=headers).status_code == 403
    assert client.get(url + "?k=0", headers=AGENT).status_code == 422


def test_escalation_round_trip(client):
    sid, headers = start_session(client, "erin")
    created = client.post("/api/v1/escalations", json={"session_id": sid, "user_id": "erin"}, headers=headers)
    assert created.status_code == 201
    eid = created.json()["id"]
    assert client.get("/api/v1/escalations").status_code == 401
    assert client.get("/api/v1/escalations", headers={"X-API-Key": "nope"}).status_code == 403
    listed = client.get("/api/v1/escalations?status=open", headers=AGENT).json()["escalations"]
    assert [e["id"] for e in listed] == [eid] and "transcript" not in listed[0]
    assert client.get("/api/v1/escalations?status=bogus", headers=AGENT).status_code == 422
    assert client.get(f"/api/v1/escalations/{eid}", headers=AGENT).json()["reason"] == "shopper_request"
    assert client.get("/api/v1/escalations/999", headers=AGENT).status_code == 404
    assert client.patch(f"/api/v1/escalations/{eid}", json={"status": "assigned", "assignee": "maria"},
                        headers=AGENT).json()["status"] == "assigned"
    posted = client.post(f"/api/v1/escalations/{eid}/messages", json={"content": "Hi, Maria here."}, headers=AGENT)
    assert posted.status_code == 201
    pending = f"/api/v1/sessions/{sid}/messages?user_id=erin"
    assert client.get(pending).status_code == 401
    assert client.get(pending, headers=headers).json() == {"messages": ["Hi, Maria here."]}
    assert client.get(pending, headers=headers).json() == {"messages": []}  # delivered once
    assert client.patch(f"/api/v1/escalations/{eid}", json={"status": "resolved"}, headers=AGENT).status_code == 200
    moved_back = client.patch(f"/api/v1/escalations/{eid}", json={"status": "assigned"}, headers=AGENT)
    assert moved_back.status_code == 409 and "resolved" in moved_back.json()["detail"]
    late = client.post(f"/api/v1/escalations/{eid}/messages", json={"content": "hello?"}, headers=AGENT)
    assert late.status_code == 409


def test_bearer_token_works_for_agents(client):
    assert client.get("/api/v1/escalations", headers={"Authorization": "Bearer test-agent-key-0123456789"}).status_code == 200


def test_access_log_is_json_with_request_id_and_no_personal_data(client):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("shopassist.access")
    logger.addHandler(handler)
    try:
        sid, headers = start_session(client, "frank@example.com")
        client.post("/api/v1/chat", json={"session_id": sid, "user_id": "frank@example.com",
                                          "message": "my phone is 07700 900123"},
                    headers={**headers, "X-Request-ID": "req-123456789"})
        client.get(f"/api/v1/users/frank@example.com/recommendations?session_id={sid}", headers=headers)
    finally:
        logger.removeHandler(handler)
    lines = [JsonFormatter().format(r) for r in records]
    text = "\n".join(lines)
    assert "frank" not in text and "07700" not in text and sid not in text
    assert '"route": "/api/v1/users/{user_id}/recommendations"' in text
    assert all('"request_id"' in line for line in lines)


def test_shutdown_waits_for_writes_in_flight():
    tracker = WriteTracker()
    done = []

    def slow_write():
        with tracker.write():
            time.sleep(0.3)
            done.append(1)

    thread = threading.Thread(target=slow_write)
    thread.start()
    time.sleep(0.05)
    assert tracker.active == 1
    assert tracker.drain(timeout_s=5) and done == [1]
    thread.join()


def test_lifespan_exit_drains_and_closes(settings, backend):
    from ui.server import create_app

    app = create_app(settings, backend=backend)
    with TestClient(app) as client:
        sid, headers = start_session(client)
        client.post("/api/v1/events", json={"session_id": sid, "item_id": "toy-1", "kind": "like"}, headers=headers)
        assert backend.warmed
    assert app.state.shutting_down and backend.tracker.completed == 1 and backend.tracker.active == 0


def test_gradio_page_and_api_share_one_server(client):
    assert client.get("/").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/chat" in paths and "/api/v1/escalations/{escalation_id}" in paths

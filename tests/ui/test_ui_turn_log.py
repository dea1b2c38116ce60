"""The server writes the query log (assistant/turn_log.py) for API chat, stream and events."""
from __future__ import annotations

from assistant.turn_log import EventRecord, TurnRecord, parse_line
from catalog.privacy import pseudonymise
from ui_helpers import start_session


def _lines(settings, client):
    client.app.state.shop.backend.flush()  # writes run on the log's own thread
    path = settings.data_dir / "logs" / "turns.jsonl"
    return path.read_text(), [parse_line(line) for line in path.read_text().splitlines()]


def test_api_chat_and_events_write_valid_log_lines(client, settings):
    sid, headers = start_session(client, "alice")
    body = {"session_id": sid, "user_id": "alice", "message": "wooden train, my email is alice@example.com"}
    shown = client.post("/api/v1/chat", json=body, headers=headers).json()["products"]
    event = {"session_id": sid, "user_id": "alice", "item_id": shown[1]["id"], "kind": "add_to_cart"}
    assert client.post("/api/v1/events", json=event, headers=headers).status_code == 202
    answer = client.post("/api/v1/chat/stream", json={**body, "message": "toy"}, headers=headers)
    assert answer.status_code == 200 and "event: done" in answer.text
    text, records = _lines(settings, client)
    assert "alice" not in text and sid not in text  # pseudonyms and redacted text only
    turn, cart, streamed = records
    assert isinstance(turn, TurnRecord) and isinstance(cart, EventRecord) and isinstance(streamed, TurnRecord)
    assert turn.user == pseudonymise("alice", settings.user_id_key) == cart.user
    assert "[email]" in turn.message and turn.intent
    assert [s.id for s in turn.shown] == [p["id"] for p in shown]
    assert [s.position for s in turn.shown] == list(range(1, len(shown) + 1))
    assert (cart.turn_id, cart.position, cart.event) == (turn.turn_id, 2, "add_to_cart")
    assert streamed.message == "toy" and streamed.total_ms is not None and streamed.session == turn.session

"""Signed shopper identity: the shop's JWT, production mode, and the identity matrix (A can never act as B)."""
from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

from catalog.settings import Settings
from ui.security import ProductionConfigError
from ui.server import create_app
from ui_fakes import FakeBackend
from ui_helpers import AGENT_KEY, ROOMY

SHOP_SECRET = "shop-signing-secret-0123456789-abcdefghij"
STRONG = dict(user_id_key="user-id-key-0123456789-abcdefghijklmnop", agent_api_key=AGENT_KEY * 2,
              shopper_jwt_secret=SHOP_SECRET)


def shop_jwt(sub: str, secret: str = SHOP_SECRET, exp_in: float = 300, algorithm: str = "HS256") -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + exp_in)}, secret, algorithm=algorithm)


@pytest.fixture
def prod(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", mode="production", **STRONG)
    backend = FakeBackend()
    with TestClient(create_app(settings, backend=backend, limits=ROOMY)) as client:
        yield client, backend


def login(client: TestClient, user: str) -> tuple[str, dict[str, str]]:
    answer = client.post("/api/v1/sessions", json={}, headers={"Authorization": f"Bearer {shop_jwt(user)}"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["user_id"] == user
    return answer.json()["session_id"], {"X-Session-Token": answer.json()["token"]}


def test_production_sessions_need_the_shops_jwt(prod):
    client, _ = prod
    assert client.post("/api/v1/sessions", json={"user_id": "alice"}).status_code == 401
    bearer = {"Authorization": f"Bearer {shop_jwt('alice')}"}
    assert client.post("/api/v1/sessions", json={"user_id": "bob"}, headers=bearer).status_code == 403
    assert client.post("/api/v1/sessions", json={"user_id": "alice"}, headers=bearer).status_code == 201
    for bad in (shop_jwt("alice", exp_in=-10), shop_jwt("alice", secret="x" * 40), "not.a.jwt",
                jwt.encode({"sub": "alice"}, SHOP_SECRET, algorithm="HS256")):  # expired, forged, junk, no exp
        answer = client.post("/api/v1/sessions", json={}, headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, bad
    anonymous = client.post("/api/v1/sessions", json={})
    assert anonymous.status_code == 201 and anonymous.json()["user_id"] is None


def test_identity_matrix_a_never_reads_or_writes_b(prod):
    client, backend = prod
    a_sid, a = login(client, "alice")
    b_sid, b = login(client, "bob")
    assert client.post("/api/v1/events", json={"session_id": b_sid, "item_id": "toy-2", "kind": "purchase"},
                       headers=b).status_code == 202
    attempts = [  # A's token against B's session, B's user id, or both
        ("post", "/api/v1/chat", {"session_id": b_sid, "message": "toy"}),
        ("post", "/api/v1/chat", {"session_id": a_sid, "user_id": "bob", "message": "toy"}),
        ("post", "/api/v1/chat/stream", {"session_id": b_sid, "message": "toy"}),
        ("post", "/api/v1/events", {"session_id": b_sid, "item_id": "toy-1", "kind": "like"}),
        ("post", "/api/v1/events", {"session_id": a_sid, "user_id": "bob", "item_id": "toy-1", "kind": "like"}),
        ("post", "/api/v1/escalations", {"session_id": b_sid}),
        ("post", "/api/v1/escalations", {"session_id": a_sid, "user_id": "bob"}),
        ("get", f"/api/v1/sessions/{b_sid}/messages", None),
        ("get", f"/api/v1/sessions/{b_sid}/history", None),
        ("get", f"/api/v1/sessions/{a_sid}/messages?user_id=bob", None),
        ("get", f"/api/v1/users/bob/recommendations?session_id={a_sid}", None),
        ("get", f"/api/v1/users/bob/recommendations?session_id={b_sid}", None),
        ("get", f"/api/v1/users/me/profile?session_id={b_sid}", None),
        ("delete", f"/api/v1/users/me?session_id={b_sid}", None),
    ]
    for method, url, body in attempts:
        kwargs = {"headers": a} if body is None else {"headers": a, "json": body}
        answer = getattr(client, method)(url, **kwargs)
        assert answer.status_code == 403, (method, url, body, answer.status_code)
    assert [e["user"] for e in backend.events] == ["bob"]  # nothing was written as bob by A
    # and A's own calls work, acting for A without repeating the id
    assert client.post("/api/v1/chat", json={"session_id": a_sid, "message": "toy"}, headers=a).status_code == 200
    assert backend.owners[a_sid] == "alice"
    assert client.get(f"/api/v1/users/alice/recommendations?session_id={a_sid}", headers=a).status_code == 200
    assert client.get(f"/api/v1/users/me/profile?session_id={a_sid}", headers=a).json()["profile"] == "0 events"


def test_demo_mode_still_accepts_the_shopper_picker(client):
    answer = client.post("/api/v1/sessions", json={"user_id": "demo-tom"})
    assert answer.status_code == 201 and answer.json()["user_id"] == "demo-tom"


@pytest.mark.parametrize("overrides", [
    {},                                                   # every secret at its default
    {**STRONG, "user_id_key": "short"},
    {**STRONG, "agent_api_key": "dev-agent-key"},
    {**STRONG, "shopper_jwt_secret": None},
    {**STRONG, "shopper_jwt_secret": "too-short"},
    {**STRONG, "agent_api_keys": "weak"},
])
def test_production_refuses_default_or_short_secrets(tmp_path, overrides):
    settings = Settings(data_dir=tmp_path, mode="production", **overrides)
    with pytest.raises(ProductionConfigError, match="refusing to start"):
        create_app(settings, backend=FakeBackend())


def test_rs256_public_key(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_file = tmp_path / "shop.pem"
    key_file.write_text(public_pem)
    settings = Settings(data_dir=tmp_path, mode="production", **{**STRONG, "shopper_jwt_secret": None},
                        shopper_jwt_public_key=str(key_file))
    with TestClient(create_app(settings, backend=FakeBackend(), limits=ROOMY)) as client:
        token = jwt.encode({"sub": "carol", "exp": int(time.time()) + 60}, private, algorithm="RS256")
        answer = client.post("/api/v1/sessions", json={}, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201 and answer.json()["user_id"] == "carol"
        forged = shop_jwt("carol")  # HS256 with some secret: not accepted when the shop uses RS256
        assert client.post("/api/v1/sessions", json={},
                           headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_session_tokens_expire(tmp_path):
    from ui.security import SessionTokens

    tokens = SessionTokens("k" * 40, lifetime_s=-1)
    assert not tokens.verify("s-1", "alice", tokens.issue("s-1", "alice"))


def test_chat_stream_sends_products_then_done(client):
    sid = client.post("/api/v1/sessions", json={}).json()
    headers = {"X-Session-Token": sid["token"]}
    with client.stream("POST", "/api/v1/chat/stream", json={"session_id": sid["session_id"], "message": "train"},
                       headers=headers) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        body = "".join(answer.iter_text())
    events = [line.split(":", 1)[1].strip() for line in body.splitlines() if line.startswith("event:")]
    assert events[0] == "products" and events[-1] == "done"


def test_forget_me_through_the_api(client, backend):
    data = client.post("/api/v1/sessions", json={"user_id": "zoe"}).json()
    headers = {"X-Session-Token": data["token"]}
    sid = data["session_id"]
    client.post("/api/v1/events", json={"session_id": sid, "item_id": "toy-1", "kind": "like"}, headers=headers)
    client.post("/api/v1/chat", json={"session_id": sid, "message": "train"}, headers=headers)
    answer = client.delete(f"/api/v1/users/me?session_id={sid}", headers=headers)
    assert answer.status_code == 200 and answer.json()["forgotten"] is True
    assert not [e for e in backend.events if e["user"] == "zoe"] and sid not in backend.transcripts

"""Rate limits: in memory (fake clock) and in a real Redis at 127.0.0.1:6379 (skipped if none runs)."""
from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from ui_helpers import AGENT, AGENT_KEY, start_session
from ui.ratelimit import Limit, MemoryRateLimiter, RateLimits, RedisRateLimiter
from ui.server import create_app

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_or_skip() -> None:
    if not RedisRateLimiter(REDIS_URL, prefix="probe").ping():
        pytest.skip("no Redis at 127.0.0.1:6379 (start one: apt-get install -y redis-server && redis-server &)")


def test_memory_limiter_windows():
    limiter = MemoryRateLimiter()
    limit = Limit(2, 1)
    assert [limiter.hit("s", "a", limit).allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("s", "b", limit).allowed  # another key has its own budget
    assert 0 < limiter.hit("s", "a", limit).retry_after_s <= 1.01
    assert not limiter.peek("s", "a", limit).allowed  # peek does not count
    import time
    time.sleep(1.05)
    assert limiter.hit("s", "a", limit).allowed


def test_limiter_is_the_maintained_library():
    from limits.strategies import FixedWindowRateLimiter

    assert isinstance(MemoryRateLimiter()._limiter, FixedWindowRateLimiter)


def test_api_answers_429_per_session_with_retry_after(settings, backend):
    limits = RateLimits(session=Limit(3, 60), agent_key=Limit(2, 60), client=Limit(100, 60))
    with TestClient(create_app(settings, backend=backend, limits=limits)) as client:
        sid, headers = start_session(client)
        body = {"session_id": sid, "message": "toy"}
        codes = [client.post("/api/v1/chat", json=body, headers=headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        blocked = client.post("/api/v1/chat", json=body, headers=headers)
        assert int(blocked.headers["Retry-After"]) >= 1 and "too many" in blocked.json()["detail"]
        other, other_headers = start_session(client)
        assert client.post("/api/v1/chat", json={"session_id": other, "message": "toy"},
                           headers=other_headers).status_code == 200
        agent_codes = [client.get("/api/v1/escalations", headers=AGENT).status_code for _ in range(3)]
        assert agent_codes == [200, 200, 429]


def test_redis_limiter_is_shared_between_processes():
    redis_or_skip()
    prefix = f"test:{uuid.uuid4().hex}"
    first, second = RedisRateLimiter(REDIS_URL, prefix), RedisRateLimiter(REDIS_URL, prefix)
    limit = Limit(3, 5)
    allowed = [first.hit("session", "s1", limit).allowed, second.hit("session", "s1", limit).allowed,
               first.hit("session", "s1", limit).allowed, second.hit("session", "s1", limit).allowed]
    assert allowed == [True, True, True, False]
    decision = first.hit("session", "s1", limit)
    assert not decision.allowed and 0 < decision.retry_after_s <= 5
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(f"{prefix}*")
    assert keys and all(b"s1" not in k for k in keys)  # ids are hashed
    client.delete(*keys)
    first.close(), second.close()


def test_redis_limiter_window_expires():
    redis_or_skip()
    limiter = RedisRateLimiter(REDIS_URL, f"test:{uuid.uuid4().hex}")
    limit = Limit(1, 1)
    assert limiter.hit("k", "x", limit).allowed and not limiter.hit("k", "x", limit).allowed
    import time
    time.sleep(1.1)
    assert limiter.hit("k", "x", limit).allowed
    limiter.close()


def test_redis_unreachable_fails_open():
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", prefix="down")
    assert limiter.hit("k", "x", Limit(1, 1)).allowed and not limiter.ping()


def test_server_uses_redis_when_configured(tmp_path, backend):
    redis_or_skip()
    from catalog.settings import Settings

    settings = Settings(data_dir=tmp_path, agent_api_key=AGENT_KEY, redis_url=REDIS_URL)
    limits = RateLimits(session=Limit(2, 60), agent_key=Limit(100, 60), client=Limit(100, 60))
    apps = [create_app(settings, backend=backend, limits=limits) for _ in range(2)]
    assert all(a.state.shop.limiter.shared for a in apps)
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert one.get("/readyz").json()["checks"]["redis"] == "ok"
        sid, headers = start_session(one)
        body = {"session_id": sid, "message": "toy"}
        # Two "processes" share one budget of 2 calls for this session.
        codes = [one.post("/api/v1/chat", json=body, headers=headers).status_code,
                 two.post("/api/v1/chat", json=body, headers=headers).status_code,
                 one.post("/api/v1/chat", json=body, headers=headers).status_code]
        assert codes == [200, 200, 429]


def test_failed_agent_keys_are_limited_per_address_and_logged_without_the_key(settings, backend, caplog):
    limits = RateLimits(session=Limit(100, 60), agent_key=Limit(100, 60), client=Limit(100, 60),
                        agent_failures=Limit(3, 60))
    with TestClient(create_app(settings, backend=backend, limits=limits)) as client:
        wrong = {"X-API-Key": "guess-number-one-xyz"}
        codes = [client.get("/api/v1/escalations", headers=wrong).status_code for _ in range(4)]
        assert codes == [403, 403, 403, 429]
        # now even the right key waits: guessing costs the guesser's address its budget
        blocked = client.get("/api/v1/escalations", headers=AGENT)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    text = caplog.text
    assert "agent key rejected" in text and "guess-number-one-xyz" not in text


def test_several_agent_keys_are_valid_at_once(tmp_path, backend):
    from catalog.settings import Settings

    old, new = AGENT_KEY, "rotated-agent-key-abcdefghijklmnop"
    settings = Settings(data_dir=tmp_path, agent_api_key=old, agent_api_keys=f"{new}, ")
    with TestClient(create_app(settings, backend=backend)) as client:
        for key in (old, new):
            assert client.get("/api/v1/escalations", headers={"X-API-Key": key}).status_code == 200
        assert client.get("/api/v1/escalations", headers={"X-API-Key": "nope"}).status_code == 403

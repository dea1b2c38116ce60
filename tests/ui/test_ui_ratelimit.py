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
    now = [100.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    limit = Limit(2, 10)
    assert [limiter.hit("s", "a", limit).allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("s", "b", limit).allowed  # another key has its own budget
    assert limiter.hit("s", "a", limit).retry_after_s == pytest.approx(10)
    now[0] += 10.01
    assert limiter.hit("s", "a", limit).allowed


def test_memory_limiter_prunes_expired_windows():
    now = [0.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0], max_keys=10)
    for i in range(10):
        limiter.hit("s", str(i), Limit(1, 1))
    now[0] = 5
    limiter.hit("s", "new", Limit(1, 1))
    assert len(limiter._windows) <= 2


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
    keys = first._client.keys(f"{prefix}:*")
    assert keys and all(b"s1" not in k for k in keys)  # ids are hashed
    first._client.delete(*keys)
    first.close(), second.close()


def test_redis_limiter_window_expires():
    redis_or_skip()
    limiter = RedisRateLimiter(REDIS_URL, f"test:{uuid.uuid4().hex}")
    limit = Limit(1, 0.3)
    assert limiter.hit("k", "x", limit).allowed and not limiter.hit("k", "x", limit).allowed
    import time
    time.sleep(0.4)
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
    assert all(isinstance(a.state.shop.limiter, RedisRateLimiter) for a in apps)
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert one.get("/readyz").json()["checks"]["redis"] == "ok"
        sid, headers = start_session(one)
        body = {"session_id": sid, "message": "toy"}
        # Two "processes" share one budget of 2 calls for this session.
        codes = [one.post("/api/v1/chat", json=body, headers=headers).status_code,
                 two.post("/api/v1/chat", json=body, headers=headers).status_code,
                 one.post("/api/v1/chat", json=body, headers=headers).status_code]
        assert codes == [200, 200, 429]

"""Rate limits per shopper session and per agent API key.

Fixed-window counters: each (bucket, key) may make ``limit.requests`` calls per ``limit.window_s``
seconds. Two back ends with one interface:

* :class:`MemoryRateLimiter` — counters in this process (the default; one server process).
* :class:`RedisRateLimiter` — counters in Redis (``settings.redis_url``), shared by every server
  process behind a load balancer. One atomic Lua script per call: INCR, set the expiry on the
  first hit, read the remaining time.

Keys are hashed before they are stored, so no session id, API key or user id ends up in Redis.

Example::

    limiter = build_rate_limiter(None)                  # in memory
    decision = limiter.hit("session", "abc", Limit(30, 60))
    decision.allowed, decision.remaining                 # (True, 29)
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("shopassist.ratelimit")


@dataclass(frozen=True)
class Limit:
    """``requests`` calls per ``window_s`` seconds."""

    requests: int
    window_s: float


@dataclass(frozen=True)
class RateLimits:
    """The limits the API applies. Defaults suit one shopper typing and one busy agent tool.

    Args:
        session: per shopper session, on every shopper endpoint (chat, events, escalations).
        agent_key: per agent API key, on every agent endpoint.
        client: per client address, on endpoints without a session yet (``POST /sessions``).
    """

    session: Limit = Limit(60, 60.0)
    agent_key: Limit = Limit(600, 60.0)
    client: Limit = Limit(60, 60.0)


@dataclass(frozen=True)
class Decision:
    """The answer for one call: allowed or not, calls left in this window, seconds until it resets."""

    allowed: bool
    remaining: int
    retry_after_s: float


class RateLimiter(Protocol):
    def hit(self, bucket: str, key: str, limit: Limit) -> Decision: ...

    def close(self) -> None: ...


def _digest(bucket: str, key: str) -> str:
    return bucket + ":" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]


class MemoryRateLimiter:
    """Fixed-window counters in a dict guarded by a lock (per limiter object, never module-wide).

    Args:
        clock: monotonic seconds (injectable for tests).
        max_keys: when the table grows past this, expired windows are dropped.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, count)

    def hit(self, bucket: str, key: str, limit: Limit) -> Decision:
        name = _digest(bucket, key)
        now = self._clock()
        with self._lock:
            end, count = self._windows.get(name, (0.0, 0))
            if now >= end:
                end, count = now + limit.window_s, 0
            count += 1
            self._windows[name] = (end, count)
            if len(self._windows) > self._max_keys:
                self._prune(now)
        return Decision(count <= limit.requests, max(0, limit.requests - count), max(0.0, end - now))

    def _prune(self, now: float) -> None:
        for name in [n for n, (end, _) in self._windows.items() if end <= now]:
            del self._windows[name]

    def close(self) -> None:
        with self._lock:
            self._windows.clear()


_LUA_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


class RedisRateLimiter:
    """Fixed-window counters in Redis, shared between server processes.

    When Redis cannot be reached the call is allowed and a warning is logged (failing open keeps
    the shop up; the limit is a guard against abuse, not a security boundary).

    Args:
        url: ``redis://127.0.0.1:6379/0``.
        prefix: key prefix, e.g. one per deployment (tests use a unique one).
    """

    def __init__(self, url: str, prefix: str = "shopassist:rl"):
        import redis  # imported here: only this back end needs it

        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._client.register_script(_LUA_HIT)

    def hit(self, bucket: str, key: str, limit: Limit) -> Decision:
        name = f"{self.prefix}:{_digest(bucket, key)}"
        window_ms = max(1, int(limit.window_s * 1000))
        try:
            count, ttl_ms = self._script(keys=[name], args=[window_ms])
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fail open, say so
            log.warning("rate limiter: Redis unavailable, allowing the call", extra={"error": type(exc).__name__})
            return Decision(True, limit.requests, 0.0)
        count = int(count)
        return Decision(count <= limit.requests, max(0, limit.requests - count), max(0.0, int(ttl_ms) / 1000))

    def ping(self) -> bool:
        """True when Redis answers (used by ``/readyz``)."""
        try:
            return bool(self._client.ping())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        self._client.close()


def build_rate_limiter(redis_url: str | None, prefix: str = "shopassist:rl") -> RateLimiter:
    """Redis when ``redis_url`` is set (``settings.redis_url``), otherwise in memory."""
    if redis_url:
        return RedisRateLimiter(redis_url, prefix=prefix)
    return MemoryRateLimiter()


def retry_after_header(decision: Decision) -> str:
    """Whole seconds for the ``Retry-After`` header (at least 1)."""
    return str(max(1, math.ceil(decision.retry_after_s)))

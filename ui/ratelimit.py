"""Rate limits per shopper session, per agent API key, per client address, and on failed agent keys.

Built on the maintained ``limits`` library (fixed windows): each (bucket, key) may make
``limit.requests`` calls per ``limit.window_s`` seconds. One class, two storages:

* in memory (the default; one server process);
* Redis (``settings.redis_url``), shared by every server process behind a load balancer.

Keys are hashed before they are stored, so no session id, API key or user id ends up in Redis.
When Redis cannot be reached the call is allowed and a warning is logged (failing open keeps the
shop up; ``/readyz`` reports Redis as unreachable).

Example::

    limiter = build_rate_limiter(None)                  # in memory
    decision = limiter.hit("session", "abc", Limit(30, 60))
    decision.allowed, decision.remaining                 # (True, 29)
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("shopassist.ratelimit")


@dataclass(frozen=True)
class Limit:
    """``requests`` calls per ``window_s`` seconds (whole seconds, at least 1)."""

    requests: int
    window_s: float


@dataclass(frozen=True)
class RateLimits:
    """The limits the API applies. Defaults suit one shopper typing and one busy agent tool.

    Args:
        session: per shopper session, on every shopper endpoint (chat, events, escalations).
        agent_key: per agent API key, on every agent endpoint.
        client: per client address, on endpoints without a session yet (``POST /sessions``).
        agent_failures: failed agent-key attempts per client address (checked before the key).
    """

    session: Limit = Limit(60, 60.0)
    agent_key: Limit = Limit(600, 60.0)
    client: Limit = Limit(60, 60.0)
    agent_failures: Limit = Limit(10, 60.0)


@dataclass(frozen=True)
class Decision:
    """The answer for one call: allowed or not, calls left in this window, seconds until it resets."""

    allowed: bool
    remaining: int
    retry_after_s: float


class RateLimiter(Protocol):
    def hit(self, bucket: str, key: str, limit: Limit) -> Decision: ...

    def peek(self, bucket: str, key: str, limit: Limit) -> Decision: ...

    def close(self) -> None: ...


def _digest(bucket: str, key: str) -> str:
    return bucket.replace(" ", "_") + ":" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]


def _item(limit: Limit) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(max(1, int(limit.requests)), max(1, math.ceil(limit.window_s)))


class LimitsRateLimiter:
    """Fixed-window counters through ``limits`` (memory or Redis storage).

    Args:
        storage_uri: ``memory://`` or ``redis://127.0.0.1:6379/0``.
        prefix: key prefix in Redis, e.g. one per deployment (tests use a unique one).
    """

    def __init__(self, storage_uri: str = "memory://", prefix: str = "shopassist:rl"):
        self.prefix = prefix
        self.uri = storage_uri
        if storage_uri.startswith("memory"):
            self._storage = MemoryStorage()
        else:
            self._storage = storage_from_string(storage_uri, key_prefix=prefix, socket_timeout=0.5,
                                                socket_connect_timeout=0.5)
        self._limiter = FixedWindowRateLimiter(self._storage)

    @property
    def shared(self) -> bool:
        return not self.uri.startswith("memory")

    def _decide(self, bucket: str, key: str, limit: Limit, consume: bool) -> Decision:
        item, name = _item(limit), _digest(bucket, key)
        try:
            allowed = self._limiter.hit(item, name) if consume else self._limiter.test(item, name)
            reset, remaining = self._limiter.get_window_stats(item, name)
        except Exception as exc:  # noqa: BLE001 - any storage failure: fail open, say so
            log.warning("rate limiter: storage unavailable, allowing the call", extra={"error": type(exc).__name__})
            return Decision(True, limit.requests, 0.0)
        return Decision(bool(allowed), max(0, int(remaining)), max(0.0, float(reset) - time.time()))

    def hit(self, bucket: str, key: str, limit: Limit) -> Decision:
        """Count one call and say whether it is allowed."""
        return self._decide(bucket, key, limit, consume=True)

    def peek(self, bucket: str, key: str, limit: Limit) -> Decision:
        """Whether a call would be allowed, without counting it."""
        return self._decide(bucket, key, limit, consume=False)

    def ping(self) -> bool:
        """True when the storage answers (used by ``/readyz`` for Redis)."""
        try:
            return bool(self._storage.check())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        if self.shared:  # never reset Redis: other processes share those counters
            return
        try:
            self._storage.reset()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def MemoryRateLimiter() -> LimitsRateLimiter:  # noqa: N802 - kept as the name of the in-memory limiter
    """The in-memory limiter (one server process)."""
    return LimitsRateLimiter("memory://")


def RedisRateLimiter(url: str, prefix: str = "shopassist:rl") -> LimitsRateLimiter:  # noqa: N802
    """The Redis-backed limiter shared by every server process."""
    return LimitsRateLimiter(url, prefix=prefix)


def build_rate_limiter(redis_url: str | None, prefix: str = "shopassist:rl") -> LimitsRateLimiter:
    """Redis when ``redis_url`` is set (``settings.redis_url``), otherwise in memory."""
    return LimitsRateLimiter(redis_url, prefix=prefix) if redis_url else LimitsRateLimiter("memory://")


def retry_after_header(decision: Decision) -> str:
    """Whole seconds for the ``Retry-After`` header (at least 1)."""
    return str(max(1, math.ceil(decision.retry_after_s)))

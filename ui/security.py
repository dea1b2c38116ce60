"""Who may call what: agent API keys, the shop's signed shopper identity, and session tokens.

* **Agents** (customer-service people and their tools) send ``X-API-Key: <key>`` (or
  ``Authorization: Bearer <key>``). Several keys are valid at once (``settings.agent_api_key`` plus
  ``settings.agent_api_keys``), so a key can be rotated without downtime. Each is compared with
  :func:`hmac.compare_digest`. Missing key → 401, wrong key → 403; wrong keys are counted per client
  address (429 past ``settings.agent_auth_failures`` a minute) and logged without the key.
* **Shopper identity** comes from the shop: a JWT it signs (HS256 with ``shopper_jwt_secret`` or RS256
  with ``shopper_jwt_public_key``; claim ``sub`` = shopper id, ``exp`` required and checked), sent as
  ``Authorization: Bearer <jwt>`` on ``POST /api/v1/sessions``. Without one the session is anonymous.
  A raw ``user_id`` in the body is accepted only in ``demo`` mode (the demo's shopper picker).
* **Session tokens** (returned by ``POST /sessions``, sent as ``X-Session-Token``) are JWTs this
  server signs with a key derived from ``user_id_key``: claims ``sid`` (session), ``uid`` (the shopper
  or null) and ``exp``. Stateless (any server process can check them) and bound to one session and one
  shopper: a token for A can never act for B or for another session.

Example::

    tokens = SessionTokens("a-long-server-secret-0123456789abcdef")
    token = tokens.issue("s-1234abcd", "alice")
    tokens.verify("s-1234abcd", "alice", token)   # True
    tokens.verify("s-1234abcd", "bob", token)     # False
    tokens.read(token)                             # SessionClaims(session_id='s-1234abcd', user_id='alice')
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from fastapi import HTTPException, Request, status

log = logging.getLogger("shopassist.security")
API_KEY_HEADER = "X-API-Key"
SESSION_TOKEN_HEADER = "X-Session-Token"
MIN_SECRET_CHARS = 32
DEFAULT_SECRETS = frozenset({"dev-agent-key", "shopassist-dev-key", "changeme", "secret", ""})


class ProductionConfigError(RuntimeError):
    """Production mode with a default, short or missing secret: the server refuses to start."""


@dataclass(frozen=True)
class SessionClaims:
    session_id: str
    user_id: str | None


class SessionTokens:
    """Issue and verify shopper session tokens (HS256 JWTs with a key used for nothing else).

    Args:
        secret: ``settings.user_id_key``; a purpose-specific key is derived from it.
        lifetime_s: seconds until a token expires (``settings.session_token_hours``).
    """

    def __init__(self, secret: str, lifetime_s: float = 24 * 3600.0):
        if not secret:
            raise ValueError("session token secret is empty; set SHOPASSIST_USER_ID_KEY")
        # A key derived for this purpose only, so the pseudonymisation key is never used twice.
        self._key = hmac.new(secret.encode(), b"shopassist session tokens v2", hashlib.sha256).digest()
        self.lifetime_s = lifetime_s

    @staticmethod
    def new_session_id() -> str:
        """A fresh, unguessable session id (``s-`` + 22 url-safe characters)."""
        return "s-" + secrets.token_urlsafe(16)

    def issue(self, session_id: str, user_id: str | None) -> str:
        now = int(time.time())
        claims = {"sid": session_id, "uid": user_id or None, "iat": now, "exp": now + int(self.lifetime_s)}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def read(self, token: str | None) -> SessionClaims | None:
        """The claims of a valid, unexpired token; None otherwise."""
        if not token:
            return None
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], options={"require": ["sid", "exp"]})
        except jwt.PyJWTError:
            return None
        sid, uid = claims.get("sid"), claims.get("uid")
        if not isinstance(sid, str) or (uid is not None and not isinstance(uid, str)):
            return None
        return SessionClaims(sid, uid)

    def verify(self, session_id: str, user_id: str | None, token: str | None) -> bool:
        claims = self.read(token)
        return claims is not None and claims.session_id == session_id and claims.user_id == (user_id or None)


class ShopperIdentity:
    """Verifies the shop's shopper JWT (HS256 secret or RS256 public key; ``exp`` required).

    Args:
        secret: HS256 shared secret (``settings.shopper_jwt_secret``).
        public_key: RS256 public key, PEM text or a path to a PEM file (``settings.shopper_jwt_public_key``).
        audience: expected ``aud`` claim, checked when set.
    """

    def __init__(self, secret: str | None = None, public_key: str | None = None, audience: str | None = None):
        if public_key and "BEGIN" not in public_key and Path(public_key).is_file():
            public_key = Path(public_key).read_text()
        self.secret, self.public_key, self.audience = secret or None, public_key or None, audience

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key)

    def shopper(self, token: str) -> str:
        """The shopper id (``sub``) of a valid token; raises 401 with the reason otherwise."""
        if not self.configured:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                detail="this server accepts no shopper JWTs: set SHOPASSIST_SHOPPER_JWT_SECRET "
                                       "or SHOPASSIST_SHOPPER_JWT_PUBLIC_KEY")
        key, algorithm = (self.public_key, "RS256") if self.public_key else (self.secret, "HS256")
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience,
                                options={"require": ["sub", "exp"], "verify_aud": bool(self.audience)})
        except jwt.ExpiredSignatureError:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="the shopper JWT has expired: get a new one "
                                "from the shop") from None
        except jwt.PyJWTError as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                detail=f"the shopper JWT is not valid ({type(exc).__name__})") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip() or len(sub) > 128:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="the shopper JWT has no usable sub claim")
        return sub.strip()


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def presented_api_key(request: Request) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``; None when absent."""
    return request.headers.get(API_KEY_HEADER) or bearer_token(request)


def agent_keys(primary: str, extra: str = "") -> tuple[str, ...]:
    """Every valid agent key: the primary one and the comma-separated extras (empty ones dropped)."""
    keys = [primary] + [k.strip() for k in (extra or "").split(",")]
    return tuple(dict.fromkeys(k for k in keys if k))


def check_api_key(presented: str | None, expected: str | tuple[str, ...]) -> None:
    """Raise 401 when no key was sent, 403 when it matches none of the valid keys (constant time each)."""
    if not presented:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            detail=f"agent API key required: send it in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": "Bearer"})
    keys = (expected,) if isinstance(expected, str) else expected
    matched = False
    for key in keys:  # no early exit: the time does not tell which key matched
        matched |= hmac.compare_digest(presented.encode(), key.encode())
    if not matched:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="agent API key is not valid")


def check_session(tokens: SessionTokens, request: Request, session_id: str, user_id: str | None) -> str | None:
    """Check the session token; returns the shopper it is bound to (None: anonymous).

    ``user_id`` from a body or path, when given, must be the token's shopper. Raises 401 without a
    token, 403 when it belongs to another session or shopper (or has expired).
    """
    token = request.headers.get(SESSION_TOKEN_HEADER)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            detail=f"session token required: start a session with POST /api/v1/sessions "
                                   f"and send its token in the {SESSION_TOKEN_HEADER} header")
    claims = tokens.read(token)
    if claims is None or claims.session_id != session_id or (user_id is not None and claims.user_id != user_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="this session token does not belong to this session_id and user_id "
                                   "(or it has expired: start a new session)")
    return claims.user_id


def production_problems(settings) -> list[str]:
    """What makes ``settings`` unsafe for production (empty list: fine)."""
    problems = []
    for name in ("user_id_key", "agent_api_key"):
        value = getattr(settings, name) or ""
        if value in DEFAULT_SECRETS or len(value) < MIN_SECRET_CHARS:
            problems.append(f"SHOPASSIST_{name.upper()} is a default or shorter than {MIN_SECRET_CHARS} characters")
    for extra in agent_keys("", settings.agent_api_keys):
        if extra in DEFAULT_SECRETS or len(extra) < MIN_SECRET_CHARS:
            problems.append(f"an entry of SHOPASSIST_AGENT_API_KEYS is a default or shorter than {MIN_SECRET_CHARS} "
                            "characters")
    if settings.shopper_jwt_public_key:
        pass
    elif not settings.shopper_jwt_secret:
        problems.append("neither SHOPASSIST_SHOPPER_JWT_SECRET nor SHOPASSIST_SHOPPER_JWT_PUBLIC_KEY is set")
    elif len(settings.shopper_jwt_secret) < MIN_SECRET_CHARS or settings.shopper_jwt_secret in DEFAULT_SECRETS:
        problems.append(f"SHOPASSIST_SHOPPER_JWT_SECRET is shorter than {MIN_SECRET_CHARS} characters")
    if settings.user_id_key and settings.user_id_key == settings.agent_api_key:
        problems.append("SHOPASSIST_USER_ID_KEY and SHOPASSIST_AGENT_API_KEY must differ")
    return problems


def check_production(settings) -> None:
    """Raise :class:`ProductionConfigError` listing every problem when ``settings.mode`` is production."""
    if settings.mode != "production":
        return
    problems = production_problems(settings)
    if problems:
        raise ProductionConfigError("refusing to start in production mode: " + "; ".join(problems)
                                    + " (generate secrets with: python -c 'import secrets; print(secrets.token_urlsafe(48))')")


def log_failed_agent_key(request: Request, reason: str) -> None:
    """One warning per failed agent-key attempt: route and reason, never the key or the client address."""
    route = getattr(request.scope.get("route"), "path", None) or "unknown"
    log.warning("agent key rejected", extra={"reason": reason, "route": route})

"""Who may call what: agent API keys and shopper session tokens.

* **Agents** (customer-service people and their tools) send ``X-API-Key: <settings.agent_api_key>``
  (or ``Authorization: Bearer <key>``). Compared with :func:`hmac.compare_digest` (constant time).
  Missing key → 401, wrong key → 403.
* **Shoppers** start a session with ``POST /api/v1/sessions`` and get ``session_id`` and ``token``.
  The token is ``HMAC(secret, session_id + user_id)``: stateless (any server process can check it,
  nothing to store), and it binds the session to one shopper, so a shopper can read and write only
  their own session and history. Calls send it as ``X-Session-Token``.

Example::

    tokens = SessionTokens("server-secret")
    token = tokens.issue("s-1234abcd", "alice")
    tokens.verify("s-1234abcd", "alice", token)   # True
    tokens.verify("s-1234abcd", "bob", token)     # False
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, status

API_KEY_HEADER = "X-API-Key"
SESSION_TOKEN_HEADER = "X-Session-Token"


class SessionTokens:
    """Issue and verify shopper session tokens (HMAC-SHA256 over session id and user id)."""

    def __init__(self, secret: str):
        if not secret:
            raise ValueError("session token secret is empty; set SHOPASSIST_USER_ID_KEY")
        # A key derived for this purpose only, so the pseudonymisation key is never used twice.
        self._key = hmac.new(secret.encode(), b"shopassist session tokens v1", hashlib.sha256).digest()

    @staticmethod
    def new_session_id() -> str:
        """A fresh, unguessable session id (``s-`` + 22 url-safe characters)."""
        return "s-" + secrets.token_urlsafe(16)

    def issue(self, session_id: str, user_id: str | None) -> str:
        message = f"{session_id}\x00{user_id or ''}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, session_id: str, user_id: str | None, token: str | None) -> bool:
        if not token:
            return False
        return hmac.compare_digest(self.issue(session_id, user_id), token)


def presented_api_key(request: Request) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``; None when absent."""
    key = request.headers.get(API_KEY_HEADER)
    if key:
        return key
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def check_api_key(presented: str | None, expected: str) -> None:
    """Raise 401 when no key was sent, 403 when it is wrong (constant-time comparison)."""
    if not presented:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            detail=f"agent API key required: send it in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="agent API key is not valid")


def check_session(tokens: SessionTokens, request: Request, session_id: str, user_id: str | None) -> None:
    """Raise 401 without a session token, 403 when it does not belong to this session and user."""
    token = request.headers.get(SESSION_TOKEN_HEADER)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            detail=f"session token required: start a session with POST /api/v1/sessions "
                                   f"and send its token in the {SESSION_TOKEN_HEADER} header")
    if not tokens.verify(session_id, user_id, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="this session token does not belong to this session_id and user_id")

"""The HTTP API under ``/api/v1``: shopper chat and feedback, recommendations, escalations for agents.

Shopper endpoints (``X-Session-Token`` from ``POST /sessions``, limited per session):
``POST /sessions`` (the shop's JWT as ``Authorization: Bearer``; anonymous without one), ``POST /chat``
(answers exactly ``Reply.to_json()``, the JSON of ``shopassist chat --once --json``),
``POST /chat/stream`` (server-sent events: products first, then each explanation), ``POST /events``,
``POST /escalations``, ``GET /sessions/{id}/messages`` (agent replies waiting for this shopper),
``GET /sessions/{id}/history`` (this session's own transcript), ``GET /users/me/profile``,
``DELETE /users/me`` (forget this shopper everywhere).

The session token is bound to one session and one shopper (see :mod:`ui.security`): the shopper a
handler acts for always comes from the token, and a ``user_id`` in a body or path must equal it.

Agent endpoints (``X-API-Key``, limited per key): ``GET /escalations?status=``,
``GET /escalations/{id}``, ``POST /escalations/{id}/messages``, ``PATCH /escalations/{id}``.
``GET /users/{id}/recommendations`` takes either an agent key or that shopper's session token.

Handlers are plain ``def``: FastAPI runs them in its thread pool, so a slow LLM turn never blocks
the event loop. Everything they need lives on ``request.app.state.shop`` (:class:`ApiContext`).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from assistant.escalation import REASONS
from catalog.records import EventKind
from ui.backend import ESCALATION_TRANSITIONS, ShopBackend, effective_user
from ui.ratelimit import Limit, RateLimiter, RateLimits, retry_after_header
from ui.security import (SessionTokens, ShopperIdentity, bearer_token, check_api_key, check_session,
                         log_failed_agent_key, presented_api_key)

log = logging.getLogger("shopassist.api")

SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:+-]+$")]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Status = Literal["open", "assigned", "resolved", "returned"]


@dataclass
class ApiContext:
    """What the handlers need; created by the app factory and kept on ``app.state.shop``."""

    backend: ShopBackend
    tokens: SessionTokens
    limiter: RateLimiter
    limits: RateLimits
    agent_api_key: str | tuple[str, ...]
    identity: ShopperIdentity | None = None
    mode: str = "demo"


def ctx(request: Request) -> ApiContext:
    return request.app.state.shop


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionIn(_Body):
    user_id: UserId | None = Field(None, description="The shopper's own id; omit for an anonymous session.")


class SessionOut(BaseModel):
    session_id: str
    user_id: str | None
    token: str = Field(description="Send as the X-Session-Token header on every call for this session.")


class ChatIn(_Body):
    session_id: SessionId
    user_id: UserId | None = None
    message: str = Field(min_length=1, max_length=2000, description="What the shopper typed (≤ 2000 characters).")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must contain some text")
        return value


class ChatProduct(BaseModel):
    model_config = ConfigDict(extra="allow")  # exactly Reply.to_json(): fields added there pass through

    id: str
    title: str
    price: float | None
    score: float
    explanation: str


class ChatOut(BaseModel):
    """Exactly ``Reply.to_json()`` (fields added there pass through)."""

    model_config = ConfigDict(extra="allow")

    intent: str
    slots: dict[str, Any]
    products: list[ChatProduct]
    reply: str
    escalation: dict[str, Any] | None


class EventIn(_Body):
    session_id: SessionId
    user_id: UserId | None = None
    item_id: ItemId
    kind: EventKind
    value: float | None = Field(None, ge=-1e6, le=1e6, allow_inf_nan=False, description="e.g. a rating 1–5.")


class EscalationIn(_Body):
    session_id: SessionId
    user_id: UserId | None = None
    reason: Literal[REASONS] = "shopper_request"  # type: ignore[valid-type]


class AgentMessageIn(_Body):
    content: str = Field(min_length=1, max_length=4000)
    author: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.-]{1,64}$")] | None = None

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must contain some text")
        return value


class EscalationPatch(_Body):
    status: Status
    assignee: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _.@-]{1,64}$")] | None = None


def _limit(c: ApiContext, response: Response, bucket: str, key: str, limit: Limit) -> None:
    decision = c.limiter.hit(bucket, key, limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    if not decision.allowed:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            detail=f"too many requests for this {bucket}; retry after the Retry-After seconds",
                            headers={"Retry-After": retry_after_header(decision)})


def shopper(request: Request, response: Response, session_id: str, user_id: str | None) -> tuple[ApiContext, str]:
    """Check the session token, then the per-session rate limit.

    Returns the context and the raw user the call acts for: the token's shopper, or
    ``anon:<session>`` for an anonymous session.
    """
    c = ctx(request)
    bound = check_session(c.tokens, request, session_id, user_id)
    _limit(c, response, "session", session_id, c.limits.session)
    return c, effective_user(session_id, bound)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def agent(request: Request, response: Response) -> ApiContext:
    """Dependency: check the agent API key, then the per-key rate limit.

    Failed attempts are counted per client address *before* the key is checked, so guessing costs:
    past ``limits.agent_failures`` a minute every call from that address gets 429 until the window ends.
    """
    c = ctx(request)
    client = _client(request)
    blocked = c.limiter.peek("agent auth failures", client, c.limits.agent_failures)
    if not blocked.allowed:
        log_failed_agent_key(request, "too many failed attempts")
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            detail="too many failed agent-key attempts from this address; retry after the "
                                   "Retry-After seconds", headers={"Retry-After": retry_after_header(blocked)})
    key = presented_api_key(request)
    try:
        check_api_key(key, c.agent_api_key)
    except HTTPException as exc:
        c.limiter.hit("agent auth failures", client, c.limits.agent_failures)
        log_failed_agent_key(request, "missing" if exc.status_code == 401 else "wrong")
        raise
    _limit(c, response, "agent key", key or "", c.limits.agent_key)
    return c


def _escalation_or_404(c: ApiContext, escalation_id: int) -> dict[str, Any]:
    found = c.backend.get_escalation(escalation_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no escalation with id {escalation_id}")
    return found


def build_router() -> APIRouter:
    """The ``/api/v1`` router (include it before mounting Gradio)."""
    router = APIRouter(prefix="/api/v1")

    @router.post("/sessions", response_model=SessionOut, status_code=201, tags=["shopper"])
    def start_session(body: SessionIn, request: Request, response: Response) -> SessionOut:
        """Start a shopper session: returns its id and the token that scopes later calls to it.

        The shopper comes from the shop's JWT (``Authorization: Bearer <jwt>``, claim ``sub``);
        without one the session is anonymous. A ``user_id`` in the body is accepted alone only in
        demo mode; in production it must equal the JWT's ``sub`` (401 without a JWT, 403 otherwise).
        """
        c = ctx(request)
        _limit(c, response, "client", _client(request), c.limits.client)
        jwt_token = bearer_token(request)
        user = c.identity.shopper(jwt_token) if (jwt_token and c.identity is not None) else None
        if jwt_token and c.identity is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="this server accepts no shopper JWTs")
        if body.user_id is not None:
            if user is None and c.mode == "production":
                raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                    detail="a user_id needs the shop's signed JWT (Authorization: Bearer <jwt>) "
                                           "in production mode; omit user_id for an anonymous session")
            if user is not None and body.user_id != user:
                raise HTTPException(status.HTTP_403_FORBIDDEN, detail="user_id does not match the JWT's sub")
            user = body.user_id
        session_id = c.tokens.new_session_id()
        return SessionOut(session_id=session_id, user_id=user, token=c.tokens.issue(session_id, user))

    @router.post("/chat", response_model=ChatOut, tags=["shopper"])
    def chat(body: ChatIn, request: Request, response: Response) -> dict[str, Any]:
        """One assistant turn; the same JSON as ``shopassist chat --once --json``."""
        c, user = shopper(request, response, body.session_id, body.user_id)
        return c.backend.respond(body.session_id, body.message, user_id=user).to_json()

    @router.post("/chat/stream", tags=["shopper"],
                 responses={200: {"content": {"text/event-stream": {}},
                                  "description": "events: products, explanation (one per LLM sentence), done"}})
    def chat_stream(body: ChatIn, request: Request, response: Response):
        """One turn as server-sent events: ``products`` (the picks with template explanations, at
        once), then one ``explanation`` per LLM sentence that passed the fact checker, then ``done``
        (exactly ``Reply.to_json()``)."""
        from sse_starlette.sse import EventSourceResponse

        c, user = shopper(request, response, body.session_id, body.user_id)
        replies = iter(c.backend.respond_stream(body.session_id, body.message, user_id=user))
        first = next(replies)  # errors (not ready, bad input) become a normal JSON 4xx/503 here
        return EventSourceResponse(_sse_events(first, replies), ping=15)

    @router.get("/sessions/{session_id}/messages", tags=["shopper"])
    def agent_messages(request: Request, response: Response, session_id: Annotated[SessionId, Path()],
                       user_id: Annotated[UserId | None, Query()] = None) -> dict[str, list[str]]:
        """Replies from a person to this session's escalation not yet shown (each returned once)."""
        c, _ = shopper(request, response, session_id, user_id)
        return {"messages": c.backend.pending_agent_messages(session_id)}

    @router.get("/sessions/{session_id}/history", tags=["shopper"])
    def session_history(request: Request, response: Response, session_id: Annotated[SessionId, Path()],
                        user_id: Annotated[UserId | None, Query()] = None) -> dict[str, Any]:
        """This session's own transcript (redacted), oldest first: role and content of each message."""
        c, _ = shopper(request, response, session_id, user_id)
        return {"session_id": session_id, "messages": c.backend.history(session_id)}

    @router.get("/users/me/profile", tags=["shopper"])
    def my_profile(request: Request, response: Response, session_id: Annotated[SessionId, Query()]) -> dict[str, Any]:
        """The signed-in shopper's profile line (what the recommender knows about them)."""
        c, user = shopper(request, response, session_id, None)
        return {"profile": c.backend.profile_summary(user)}

    @router.delete("/users/me", tags=["shopper"])
    def forget_me(request: Request, response: Response, session_id: Annotated[SessionId, Query()]) -> dict[str, Any]:
        """Forget this shopper everywhere: events, sessions, transcripts, escalations, profile and
        derived vectors (an anonymous session forgets itself). Returns what was removed."""
        c, user = shopper(request, response, session_id, None)
        with c.backend.tracker.write():
            removed = c.backend.forget_user(user, session_id=session_id)
        return {"forgotten": True, "removed": removed}

    @router.post("/events", status_code=202, tags=["shopper"])
    def record_event(body: EventIn, request: Request, response: Response) -> dict[str, Any]:
        """Feedback on a product (view, click, like, add_to_cart, purchase, rating, not_interested).
        It changes the next answer at once. Anonymous sessions record under the session."""
        c, user = shopper(request, response, body.session_id, body.user_id)
        if c.backend.product(body.item_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown item_id {body.item_id!r}")
        c.backend.record_event(user, body.item_id, body.kind, session_id=body.session_id, value=body.value)
        return {"recorded": True, "kind": body.kind, "item_id": body.item_id}

    @router.get("/users/{user_id}/recommendations", tags=["shopper", "agent"])
    def recommendations(request: Request, response: Response, user_id: Annotated[UserId, Path()],
                        k: Annotated[int, Query(ge=1, le=50)] = 10,
                        session_id: Annotated[SessionId | None, Query()] = None) -> dict[str, Any]:
        """Top-k products for a shopper: an agent key, or the shopper's own session token + session_id."""
        if presented_api_key(request) or not session_id:
            c = agent(request, response)
        else:
            c, _ = shopper(request, response, session_id, user_id)
        picks = c.backend.recommend(user_id, k)
        return {"user_id": user_id, "products": [p.model_dump(mode="json") for p in picks]}

    @router.post("/escalations", status_code=201, tags=["shopper"])
    def create_escalation(body: EscalationIn, request: Request, response: Response) -> dict[str, Any]:
        """Hand this session to a person ("Talk to a person"): transcript, summary and products go along."""
        c, user = shopper(request, response, body.session_id, body.user_id)
        return c.backend.escalate(body.session_id, reason=body.reason, user_id=user).model_dump(mode="json")

    @router.get("/escalations", tags=["agent"])
    def list_escalations(c: Annotated[ApiContext, Depends(agent)],
                         status_: Annotated[Status | None, Query(alias="status")] = None) -> dict[str, Any]:
        """Escalation tickets, newest first, optionally with one status (without transcripts)."""
        items = [{k: v for k, v in e.items() if k not in ("transcript", "messages")}
                 for e in c.backend.list_escalations(status_)]
        return {"escalations": items}

    @router.get("/escalations/{escalation_id}", tags=["agent"])
    def get_escalation(c: Annotated[ApiContext, Depends(agent)],
                       escalation_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
        """One ticket: transcript, summary, reason, intent, sentiment, products shown, order id, messages."""
        return _escalation_or_404(c, escalation_id)

    @router.post("/escalations/{escalation_id}/messages", status_code=201, tags=["agent"])
    def post_agent_message(body: AgentMessageIn, c: Annotated[ApiContext, Depends(agent)],
                           escalation_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
        """An agent's reply; it appears in the shopper's chat within seconds."""
        found = _escalation_or_404(c, escalation_id)
        if found.get("status") in ("resolved", "returned"):
            raise HTTPException(status.HTTP_409_CONFLICT,
                                detail=f"escalation {escalation_id} is {found.get('status')}; reopen it first")
        return {"escalation_id": escalation_id, "message": c.backend.add_agent_message(escalation_id, body.content)}

    @router.patch("/escalations/{escalation_id}", tags=["agent"])
    def update_escalation(body: EscalationPatch, c: Annotated[ApiContext, Depends(agent)],
                          escalation_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
        """Move a ticket: open → assigned → resolved, or "returned" (handed back to the assistant)."""
        current = _escalation_or_404(c, escalation_id).get("status", "open")
        if body.status != current and body.status not in ESCALATION_TRANSITIONS.get(current, frozenset()):
            allowed = sorted(ESCALATION_TRANSITIONS.get(current, frozenset())) or ["none: it is closed"]
            raise HTTPException(status.HTTP_409_CONFLICT,
                                detail=f"cannot move escalation {escalation_id} from {current} to {body.status}; "
                                       f"allowed: {', '.join(allowed)}")
        if body.status == current and body.assignee is None:
            return _escalation_or_404(c, escalation_id)
        return c.backend.set_escalation_status(escalation_id, body.status, assignee=body.assignee)

    return router


def _sse_events(first: Any, rest: Iterator[Any]) -> Iterator[dict[str, str]]:
    """Server-sent events for one turn: ``products`` first, an ``explanation`` per changed sentence, ``done``."""
    final = first
    yield {"event": "products", "data": json.dumps(first.to_json())}
    shown = [p.explanation for p in first.products]
    try:
        for reply in rest:
            final = reply
            for index, pick in enumerate(reply.products):
                if index < len(shown) and pick.explanation != shown[index]:
                    shown[index] = pick.explanation
                    yield {"event": "explanation", "data": json.dumps(
                        {"index": index, "id": pick.id, "explanation": pick.explanation,
                         "source": getattr(pick, "explanation_source", None)})}
    finally:
        close = getattr(rest, "close", None)
        if close is not None:  # the client went away: let the turn save what was shown
            close()
    yield {"event": "done", "data": json.dumps(final.to_json())}

"""The one object the API and the web page talk to: the assistant, escalations, recommendations.

:class:`ShopBackend` is the interface (tests pass a fake with the same methods);
:class:`AssistantBackend` is the real one, built from settings. It loads the heavy parts
(indexes, recommender, LLM) once, in :meth:`warm`, which the server runs in a background thread
at start-up so that ``/healthz`` answers at once and ``/readyz`` turns 200 when loading is done.

Every write (events, escalations, agent messages) runs inside :class:`WriteTracker`, so a graceful
shutdown waits for writes in flight before closing the store: no event or escalation is lost.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from assistant.types import EscalationInfo, ProductPick, Reply
from catalog.escalations import TRANSITIONS
from catalog.records import Product
from catalog.settings import Settings

log = logging.getLogger("shopassist.backend")

#: Allowed escalation status changes (PATCH /escalations/{id}); "returned" = handed back to the assistant.
ESCALATION_TRANSITIONS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in TRANSITIONS.items()}


def check_indexes(settings: Settings) -> list[str]:
    """Detect a missing or corrupted BM25 or vector index at start-up and rebuild it from the store.

    Returns what was wrong (empty when both indexes agree with the store). See
    :func:`retrieval.ingest.verify_indexes`; ``shopassist index rebuild`` does the same by hand.
    """
    from retrieval.ingest import repair_indexes

    problems = repair_indexes(settings)
    for problem in problems:
        log.warning("index problem found at start-up; rebuilt from the store", extra={"problem": problem})
    return problems


def effective_user(session_id: str, user_id: str | None) -> str:
    """The raw user id the assistant sees: the shopper's id, or ``anon:<session>`` for an anonymous
    session, so feedback in an anonymous session still changes that session's next answer."""
    return user_id or f"anon:{session_id}"


class NotReady(RuntimeError):
    """The backend is still loading (or failed to load); the message says which."""


class WriteTracker:
    """Counts writes in flight so shutdown can wait for them (``drain``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.completed = 0

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self.completed += 1
                self._cond.notify_all()

    @property
    def active(self) -> int:
        return self._active

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until no write is in flight; False if ``timeout_s`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._active == 0, timeout=timeout_s)


class ShopBackend(Protocol):
    """What ui/ needs. ``user_id`` is always the RAW id; the backend pseudonymises it."""

    tracker: WriteTracker

    def warm(self) -> None: ...
    def readiness(self) -> tuple[bool, str]: ...
    def respond(self, session_id: str, message: str, user_id: str | None = None) -> Reply: ...
    def respond_stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[Reply]: ...
    def record_event(self, user_id: str, item_id: str, kind: str, session_id: str | None = None,
                     value: float | None = None) -> None: ...
    def product(self, item_id: str) -> Product | None: ...
    def recommend(self, user_id: str | None, k: int) -> list[ProductPick]: ...
    def profile_summary(self, user_id: str | None) -> str: ...
    def escalate(self, session_id: str, reason: str = "shopper_request", user_id: str | None = None) -> EscalationInfo: ...
    def pending_agent_messages(self, session_id: str) -> list[str]: ...
    def history(self, session_id: str) -> list[dict[str, Any]]: ...
    def forget_user(self, user_id: str, session_id: str | None = None) -> dict[str, int]: ...
    def list_escalations(self, status: str | None) -> list[dict[str, Any]]: ...
    def get_escalation(self, escalation_id: int) -> dict[str, Any] | None: ...
    def add_agent_message(self, escalation_id: int, content: str) -> dict[str, Any]: ...
    def set_escalation_status(self, escalation_id: int, status: str, assignee: str | None = None) -> dict[str, Any]: ...
    def close(self) -> None: ...


def as_dict(obj: Any) -> dict[str, Any]:
    """A plain dict from a pydantic model, dataclass, SQLAlchemy row or mapping."""
    if obj is None:
        return {}
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if hasattr(obj, "_mapping"):
        return dict(obj._mapping)
    return dict(obj)


class AssistantBackend:
    """The real backend: ``assistant.agent.ShoppingAssistant`` + ``catalog.escalations`` + ``ranking.ranker``.

    Args:
        settings: the application settings (data folder, LLM profile, keys).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tracker = WriteTracker()
        self._lock = threading.Lock()
        self._state = "not started"
        self._error: str | None = None
        self.assistant: Any = None
        self.store: Any = None
        self.escalations: Any = None
        self.ranker: Any = None

    # ---- loading -------------------------------------------------------------------------------
    def warm(self) -> None:
        """Load everything once (idempotent, thread-safe). Errors are kept for ``readiness``."""
        with self._lock:
            if self._state in ("ready", "loading"):
                return
            self._state = "loading"
        started = time.perf_counter()
        try:
            from assistant.agent import ShoppingAssistant
            from catalog.privacy import warm as warm_redaction

            check_indexes(self.settings)  # a missing or corrupted index is rebuilt from the store, loudly
            warm_redaction()
            assistant = ShoppingAssistant.from_settings(self.settings)
            parts = assistant.parts
            # The assistant loads lazily; touch each part now so the first shopper does not wait.
            for name in ("search", "understander", "ranker", "knowledge", "explainer"):
                getattr(parts, name)
            if parts.llm is not None:
                parts.llm.chat_model  # noqa: B018 - loads the GGUF model once
            self.store = assistant.store
            self.escalations = assistant.escalations
            self.ranker = assistant.ranker
            for name in ("turn_threads", "threads"):  # the thread budget is process-wide, set once at start-up
                if self.ranker is not None and hasattr(self.ranker, name):
                    setattr(self.ranker, name, None)
            self.assistant = assistant
            self._state = "ready"
            log.info("backend ready", extra={"seconds": round(time.perf_counter() - started, 2)})
        except Exception as exc:  # noqa: BLE001 - reported by /readyz with what to do
            self._error = f"{type(exc).__name__}: {exc}"
            self._state = "failed"
            log.exception("backend failed to load")

    def readiness(self) -> tuple[bool, str]:
        if self._state == "ready":
            return True, "ready"
        if self._state == "failed":
            return False, f"failed to load ({self._error}); fix it and restart (did you run `shopassist demo`?)"
        return False, f"{self._state}: loading the catalog indexes, recommender and LLM"

    def _need(self) -> Any:
        if self._state != "ready":
            if self._state == "not started":
                self.warm()
            if self._state != "ready":
                raise NotReady(self.readiness()[1])
        return self.assistant

    # ---- shopping ------------------------------------------------------------------------------
    def respond(self, session_id: str, message: str, user_id: str | None = None) -> Reply:
        return self._need().respond(session_id, message, user_id=user_id)

    def respond_stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[Reply]:
        yield from self._need().respond_stream(session_id, message, user_id=user_id)

    def record_event(self, user_id: str, item_id: str, kind: str, session_id: str | None = None,
                     value: float | None = None) -> None:
        assistant = self._need()
        with self.tracker.write():
            assistant.record_event(user_id, item_id, kind, session_id=session_id, value=value)

    def product(self, item_id: str) -> Product | None:
        self._need()
        return self.store.get_product(item_id)

    def _user_key(self, user_id: str | None) -> str | None:
        from catalog.privacy import pseudonymise

        return pseudonymise(user_id, self.settings.user_id_key) if user_id else None

    def recommend(self, user_id: str | None, k: int) -> list[ProductPick]:
        self._need()
        if self.ranker is None:
            return []
        picks = []
        for item in self.ranker.recommend(self._user_key(user_id), k):
            p = item.product
            picks.append(ProductPick(id=p.id, title=p.title, price=p.price, currency=p.currency,
                                     image_url=p.image_url, score=float(item.score),
                                     scores={k2: float(v) for k2, v in (item.scores or {}).items()}))
        return picks

    def profile_summary(self, user_id: str | None) -> str:
        self._need()
        if self.ranker is None or not user_id:
            return ""
        try:
            return self.ranker.profile(self._user_key(user_id)).summary()
        except Exception:  # noqa: BLE001 - a profile is a nicety; never break the page for it
            log.warning("profile summary failed", exc_info=True)
            return ""

    # ---- escalations ---------------------------------------------------------------------------
    def escalate(self, session_id: str, reason: str = "shopper_request", user_id: str | None = None) -> EscalationInfo:
        assistant = self._need()
        with self.tracker.write():
            return assistant.escalate(session_id, reason=reason, user_id=user_id)

    def pending_agent_messages(self, session_id: str) -> list[str]:
        return list(self._need().pending_agent_messages(session_id))

    def history(self, session_id: str) -> list[dict[str, Any]]:
        assistant = self._need()
        return [{"role": m.role, "content": m.content} for m in assistant.conversations.transcript(session_id)]

    def forget_user(self, user_id: str, session_id: str | None = None) -> dict[str, int]:
        """Erase the shopper (raw id) everywhere; see :mod:`catalog.forget`."""
        from catalog.forget import forget_user

        self._need()
        return forget_user(self.store, self._user_key(user_id), [session_id] if session_id else [])

    def list_escalations(self, status: str | None) -> list[dict[str, Any]]:
        self._need()
        return [as_dict(e) for e in self.escalations.list(status)]

    def get_escalation(self, escalation_id: int) -> dict[str, Any] | None:
        self._need()
        found = self.escalations.get(escalation_id)
        return as_dict(found) if found is not None else None

    def add_agent_message(self, escalation_id: int, content: str) -> dict[str, Any]:
        self._need()
        with self.tracker.write():
            return as_dict(self.escalations.add_message(escalation_id, "agent", content))

    def set_escalation_status(self, escalation_id: int, status: str, assignee: str | None = None) -> dict[str, Any]:
        self._need()
        with self.tracker.write():
            return as_dict(self.escalations.update_status(escalation_id, status, assignee=assignee))

    def close(self) -> None:
        closer = getattr(self.assistant, "close", None) or getattr(self.store, "close", None)
        if closer:
            closer()

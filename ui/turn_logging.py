"""The server's query log: :class:`LoggedBackend` wraps any :class:`ui.backend.ShopBackend` so that
every turn served (API ``/chat``, ``/chat/stream`` and the Gradio page, which all go through the
backend) and every feedback event is written to :class:`assistant.turn_log.TurnLog`.

A failing log write is reported in the server log and never breaks a turn. Writes run on one
background thread, in order, so redaction and the file append never delay the shopper's answer;
``close()`` waits for them. A streamed turn is logged once, with the last reply the shopper saw, also
when the client goes away mid-stream.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from assistant.turn_log import TurnLog

log = logging.getLogger("shopassist.turn_log")


class LoggedBackend:
    """Same interface as the wrapped backend; ``respond``/``respond_stream``/``record_event`` are logged."""

    def __init__(self, inner: Any, turn_log: TurnLog) -> None:
        self.inner, self.turn_log = inner, turn_log
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopassist-turn-log")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _submit(self, write: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                write()
            except Exception:  # noqa: BLE001 - the log is for evaluation; the shopper's turn comes first
                log.warning("query log write failed", exc_info=True)
        try:
            self._writer.submit(run)
        except RuntimeError:  # closed (the app's lifespan ended): the line is dropped, the request never fails
            log.warning("query log closed; a write after shutdown was dropped")

    def _write_turn(self, reply: Any, session_id: str, user_id: str | None, message: str, started: float) -> None:
        total_ms = (time.perf_counter() - started) * 1000.0
        self._submit(lambda: self.turn_log.turn(reply, session_id, user_id, message, total_ms))

    def flush(self) -> None:
        """Wait until every write submitted so far is in the log."""
        try:
            self._writer.submit(lambda: None).result()
        except RuntimeError:  # closed: every write already finished
            pass

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.inner.close()

    def respond(self, session_id: str, message: str, user_id: str | None = None) -> Any:
        started = time.perf_counter()
        reply = self.inner.respond(session_id, message, user_id=user_id)
        self._write_turn(reply, session_id, user_id, message, started)
        return reply

    def respond_stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[Any]:
        started, last = time.perf_counter(), None
        replies = self.inner.respond_stream(session_id, message, user_id=user_id)
        try:
            for last in replies:
                yield last
        finally:
            close = getattr(replies, "close", None)
            if close is not None:  # the client went away: let the turn save what was shown
                close()
            if last is not None:
                self._write_turn(last, session_id, user_id, message, started)

    def record_event(self, user_id: str, item_id: str, kind: str, session_id: str | None = None,
                     value: float | None = None) -> None:
        self.inner.record_event(user_id, item_id, kind, session_id=session_id, value=value)
        self._submit(lambda: self.turn_log.event(user_id, session_id, item_id, kind, value))

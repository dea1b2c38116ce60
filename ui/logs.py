"""Structured JSON logs with request ids, and the ASGI middleware that writes the access log.

One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ``request_id`` and any ``extra``
fields. No personal data: the access log records the *route template*
(``/api/v1/users/{user_id}/recommendations``), never the raw path, query string, client address,
message text or token. The request id comes from a sane ``X-Request-ID`` header or is generated, and
is echoed in the response header so a shopper or agent can quote it.

Example::

    configure_logging("INFO")
    app.add_middleware(RequestLogMiddleware, max_body_bytes=65536)
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("shopassist_request_id", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{8,64}$")
_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
access_log = logging.getLogger("shopassist.access")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line (``extra=`` fields included)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the ``shopassist`` loggers; uvicorn's own access log is silenced
    (it prints raw paths, which can carry user ids) because :class:`RequestLogMiddleware` replaces it."""
    root = logging.getLogger("shopassist")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("uvicorn.access").disabled = True


class RequestLogMiddleware:
    """Pure ASGI middleware (safe with Gradio's streaming responses): request id, size limit, access log.

    Args:
        app: the ASGI app.
        max_body_bytes: larger ``Content-Length`` on ``/api/`` paths gets 413 before the body is read.
    """

    def __init__(self, app: Any, max_body_bytes: int = 64 * 1024):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            if scope["path"].startswith("/api/") and self._too_large(headers):
                await self._reject_too_large(send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or _redact_path(scope["path"])
            access_log.info("request", extra={
                "request_id": rid, "method": scope.get("method"), "route": path, "status": status_holder["status"],
                "ms": round((time.perf_counter() - started) * 1000, 1)})
            request_id_var.reset(token)

    def _too_large(self, headers: dict[bytes, bytes]) -> bool:
        length = headers.get(b"content-length")
        try:
            return length is not None and int(length) > self.max_body_bytes
        except ValueError:
            return True

    async def _reject_too_large(self, send: Any) -> None:
        body = json.dumps({"detail": f"request body too large: at most {self.max_body_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _redact_path(path: str) -> str:
    """Unmatched API paths may carry ids typed by a caller: keep only the first three segments."""
    if path.startswith("/api/"):
        return "/".join(path.split("/")[:4]) + "/…"
    return path

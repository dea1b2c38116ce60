"""The one server: the HTTP API under ``/api/v1``, ``/healthz`` and ``/readyz``, and the Gradio page at ``/``.

Run it with ``shopassist serve`` or ``python -m uvicorn ui.server:create_app --factory``.
Order matters: every FastAPI route is registered first and Gradio is mounted at ``/`` last (a route
added after the mount would be shadowed by it).

Start-up: ``/healthz`` answers at once; the backend (indexes, recommender, LLM) loads in a background
thread and ``/readyz`` turns 200 when it is done. Shutdown (SIGTERM/SIGINT): uvicorn stops accepting
and finishes requests in flight, then the lifespan waits for any write still running (events,
escalations, agent messages) before closing the store — nothing acknowledged is lost.

Example::

    app = create_app(Settings(data_dir=Path("var")))   # real backend
    app = create_app(settings, backend=FakeBackend())  # tests
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402 - after the analytics switch
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from catalog.escalations import EscalationError, TransitionError  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from ui.api import ApiContext, build_router  # noqa: E402
from ui.backend import AssistantBackend, NotReady, ShopBackend  # noqa: E402
from ui.logs import RequestLogMiddleware, configure_logging, request_id_var  # noqa: E402
from ui.ratelimit import Limit, RateLimiter, RateLimits, build_rate_limiter  # noqa: E402
from ui.security import SessionTokens, ShopperIdentity, agent_keys, check_production  # noqa: E402
from ui.shoppers import load_shoppers  # noqa: E402
from ui.web import CSS, build_blocks  # noqa: E402

log = logging.getLogger("shopassist.server")
SHUTDOWN_DRAIN_SECONDS = 30.0
MAX_BODY_BYTES = 64 * 1024


def _validation_message(exc: RequestValidationError) -> dict:
    errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "invalid")}
              for e in exc.errors()]
    summary = "; ".join(f"{e['where']}: {e['problem']}" for e in errors[:5])
    return {"detail": f"invalid request: {summary}", "errors": errors}


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_message(exc), status_code=422)

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse({"detail": f"the assistant is not ready yet: {exc}"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(TransitionError)
    async def conflict(_: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(EscalationError)
    async def bad_escalation(_: Request, exc: EscalationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    from assistant.agent import AssistantInputError  # here: the assistant package is heavy to import

    @app.exception_handler(AssistantInputError)
    async def bad_input(_: Request, exc: AssistantInputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error; please retry, and quote this request id if it "
                                       f"happens again: {request_id_var.get()}"}, status_code=500)


def _add_probes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Readiness: 200 once the catalog, recommender and LLM are loaded (and Redis answers, if used)."""
        shop: ApiContext = request.app.state.shop
        ready, detail = shop.backend.readiness()
        checks = {"backend": detail}
        ping = getattr(shop.limiter, "ping", None)
        if ping is not None:
            redis_ok = ping()
            checks["redis"] = "ok" if redis_ok else "unreachable"
            ready = ready and redis_ok
        if getattr(request.app.state, "shutting_down", False):
            ready, checks["shutdown"] = False, "in progress"
        return JSONResponse({"status": "ready" if ready else "starting", "checks": checks},
                            status_code=200 if ready else 503)


def create_app(settings: Settings | None = None, backend: ShopBackend | None = None,
               limits: RateLimits | None = None, limiter: RateLimiter | None = None,
               shoppers_path: Path | None = None, warm: bool = True) -> FastAPI:
    """Build the server.

    Args:
        settings: defaults to ``Settings()`` (``SHOPASSIST_*`` environment variables).
        backend: defaults to :class:`ui.backend.AssistantBackend` (the real assistant).
        limits: rate limits (defaults: :class:`ui.ratelimit.RateLimits`).
        limiter: defaults to Redis when ``settings.redis_url`` is set, else in memory.
        shoppers_path: demo shoppers JSON (default ``data/demo/shoppers.json``).
        warm: load the backend in a background thread at start-up.
    """
    settings = settings or Settings()
    configure_logging(os.environ.get("SHOPASSIST_LOG_LEVEL", "INFO"))
    check_production(settings)  # production with a default or short secret: refuse to start
    if backend is None:
        from assistant.llm import apply_thread_budget

        apply_thread_budget(settings)  # once per process, before any model loads; never per request
        backend = AssistantBackend(settings)
    if settings.turn_log:  # the query log: every turn and event served (docs/eval.md)
        from assistant.turn_log import TurnLog
        from ui.turn_logging import LoggedBackend

        backend = LoggedBackend(backend, TurnLog.from_settings(settings))
    limiter = limiter or build_rate_limiter(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.shutting_down = False
        if warm:
            threading.Thread(target=backend.warm, name="shopassist-warm", daemon=True).start()
        log.info("server started")
        yield
        app.state.shutting_down = True
        drained = await asyncio.to_thread(backend.tracker.drain, SHUTDOWN_DRAIN_SECONDS)
        log.info("server stopping", extra={"writes_drained": drained, "writes_completed": backend.tracker.completed})
        backend.close()
        limiter.close()

    app = FastAPI(title="shopassist", version="1.0",
                  description="Conversational shopping assistant: shopper chat and feedback, recommendations, "
                              "and escalations to customer-service agents.", lifespan=lifespan)
    limits = limits or RateLimits(agent_failures=Limit(settings.agent_auth_failures, 60.0))
    identity = ShopperIdentity(settings.shopper_jwt_secret, settings.shopper_jwt_public_key,
                               settings.shopper_jwt_audience)
    app.state.shop = ApiContext(backend=backend,
                                tokens=SessionTokens(settings.user_id_key, settings.session_token_hours * 3600),
                                limiter=limiter, limits=limits,
                                agent_api_key=agent_keys(settings.agent_api_key, settings.agent_api_keys),
                                identity=identity if identity.configured else None, mode=settings.mode)
    app.state.settings = settings
    app.state.shutting_down = False
    _add_error_handlers(app)
    _add_probes(app)
    app.include_router(build_router())
    app.add_middleware(RequestLogMiddleware, max_body_bytes=MAX_BODY_BYTES)
    # the demo shopper picker is a raw user id: only in demo mode (production pages are anonymous)
    shoppers = load_shoppers(shoppers_path) if settings.mode == "demo" else []
    blocks = build_blocks(backend, shoppers, limiter=limiter, limit=app.state.shop.limits.session)
    return gr.mount_gradio_app(app, blocks, path="/", css=CSS, footer_links=["api"], show_error=False)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the server until SIGINT/SIGTERM (graceful: requests in flight finish, writes are drained)."""
    import uvicorn

    app = create_app(settings)
    print(f"shopassist is running at http://{host}:{port}/  (API: http://{host}:{port}/docs)", flush=True)
    # Open browser tabs hold a Gradio heartbeat stream, so connections are given 10 s to close;
    # writes still running after that are waited for by the lifespan (WriteTracker.drain).
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=10)

"""The sandbox application: both API contracts, the media route and the control API on one app.

``create_app`` wires the state objects onto ``app.state`` (``settings``, ``clipia``, ``faults``,
``calls``, ``webhooks``; the Clipwise router adds ``clipwise``), the routers and two pure-ASGI
middlewares: the call log outermost (so it sees fault answers too), then the fault rules.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from clipgen_provider.sandbox import clipia, control, media
from clipgen_provider.sandbox.clipia_http import (
    ClipiaError,
    clipia_error_handler,
    default_code,
    error_response,
)
from clipgen_provider.sandbox.clipia_jobs import ClipiaStore
from clipgen_provider.sandbox.clipwise import install as install_clipwise
from clipgen_provider.sandbox.control import CallLog, CallLogMiddleware
from clipgen_provider.sandbox.faults import FaultBook, FaultMiddleware
from clipgen_provider.sandbox.settings import SandboxSettings
from clipgen_provider.sandbox.webhook_sender import WebhookSender

#: paths whose framework errors (404, 405, validation, crashes) use the Clipia error envelope
_CLIPIA_ENVELOPE_PREFIXES = ("/v1/", "/_sandbox/", "/media/")

_Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _framework_error(request: Request, exc: Exception) -> Response:
    """Translate a framework error into the Clipia envelope (never FastAPI's ``{"detail": ...}``)."""
    if isinstance(exc, RequestValidationError):
        return error_response(400, "invalid_request", "The request is malformed")
    if isinstance(exc, StarletteHTTPException):
        status = 400 if exc.status_code == 422 else exc.status_code
        code = default_code(status)
        if status == 404 and request.url.path.startswith("/v1/models/"):
            code = "model_not_found"
        return error_response(status, code, str(exc.detail), exc.headers)
    return error_response(500, "internal_error", "The sandbox failed; see its log")


def _install_error_handlers(app: FastAPI) -> None:
    """Use the Clipia envelope on Clipia paths; defer to earlier handlers (Clipwise's) elsewhere."""
    app.add_exception_handler(ClipiaError, clipia_error_handler)
    for exc_class in (StarletteHTTPException, RequestValidationError, Exception):
        previous: _Handler | None = app.exception_handlers.get(exc_class)

        async def handler(request: Request, exc: Exception, previous: _Handler | None = previous) -> Response:
            if previous is not None and not request.url.path.startswith(_CLIPIA_ENVELOPE_PREFIXES):
                answer = previous(request, exc)
                return await answer if inspect.isawaitable(answer) else answer
            return _framework_error(request, exc)

        app.add_exception_handler(exc_class, handler)


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Build the sandbox app around ``settings`` (defaults when omitted)."""
    settings = settings or SandboxSettings()
    faults = FaultBook()
    calls = CallLog()
    webhooks = WebhookSender(settings, faults)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await webhooks.aclose()

    app = FastAPI(title="clipgen sandbox", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.startup_settings = copy.deepcopy(settings)
    app.state.clipia = ClipiaStore(settings, webhooks)
    app.state.faults = faults
    app.state.calls = calls
    app.state.webhooks = webhooks

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    app.include_router(clipia.router)
    app.include_router(media.router)
    app.include_router(control.router)
    install_clipwise(app)
    _install_error_handlers(app)
    app.add_middleware(FaultMiddleware, book=faults)
    app.add_middleware(CallLogMiddleware, log=calls)
    return app

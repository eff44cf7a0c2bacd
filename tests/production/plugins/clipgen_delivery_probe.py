"""A measuring plugin of the production cluster: metadata-database statements per webhook delivery.

PostgreSQL's ``pg_stat_statements`` needs a server restart to load (``shared_preload_libraries``),
which a test must not do to a shared server, and ``pg_stat_database`` counts the whole cluster.
So this plugin counts at the source: a root middleware marks each request to the provider's
receiver (``/clipgen/``) in a context variable, and a SQLAlchemy ``before_cursor_execute``
listener counts every statement run while it is set: the receiver's own transactions, its
connection lookup and a delayed resume it schedules (worker threads and tasks inherit the
variable). ``GET /clipgen-probe/stats`` answers this API server's totals.

It is loaded from the cluster's plugins folder by every component; only an API server builds the
middleware and the stats app (on first access), so the others import nothing more.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import Counter
from typing import Any

from airflow.providers.common.compat.sdk import AirflowPlugin

#: requests under this path are counted (the provider's receiver)
RECEIVER_PREFIX = "/clipgen/"

_in_delivery: contextvars.ContextVar[bool] = contextvars.ContextVar("clipgen_probe_delivery", default=False)
_lock = threading.Lock()
_deliveries: Counter[int] = Counter()
_statements: Counter[str] = Counter()
_listening = False


def _count_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if _in_delivery.get():
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        with _lock:
            _statements[verb] += 1


def _listen() -> None:
    """Count statements on every SQLAlchemy engine of this process (once)."""
    global _listening
    with _lock:
        if _listening:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", _count_statement)
        _listening = True


class DeliveryProbeMiddleware:
    """Pure ASGI middleware: marks receiver requests and counts them by answer status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        _listen()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not str(scope.get("path", "")).startswith(RECEIVER_PREFIX):
            await self.app(scope, receive, send)
            return
        status = {"code": 0}

        async def noting_send(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        token = _in_delivery.set(True)
        try:
            await self.app(scope, receive, noting_send)
        finally:
            _in_delivery.reset(token)
            with _lock:
                _deliveries[status["code"]] += 1


def _stats_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/stats")
    def stats() -> dict[str, Any]:
        with _lock:
            return {
                "pid": os.getpid(),
                "deliveries": {str(code): count for code, count in _deliveries.items()},
                "statements": dict(_statements),
            }

    return app


class _Lazy:
    """A plugin attribute built on first access (only API servers read these two)."""

    def __init__(self, build: Any) -> None:
        self.build = build
        self.value: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self.value is None:
            self.value = self.build()
        return self.value


class ClipgenDeliveryProbe(AirflowPlugin):
    """Counts the receiver's database statements; serves them at ``/clipgen-probe/stats``."""

    name = "clipgen_delivery_probe"
    fastapi_apps = _Lazy(lambda: [{"app": _stats_app(), "url_prefix": "/clipgen-probe", "name": "probe"}])
    fastapi_root_middlewares = _Lazy(
        lambda: [{"middleware": DeliveryProbeMiddleware, "args": [], "kwargs": {}, "name": "probe"}]
    )

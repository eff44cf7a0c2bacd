"""Route plumbing that keeps every Clipwise answer inside the error envelope.

The sandbox app is shared with the Clipia half, so nothing here registers app-wide exception
handlers: :class:`ClipwiseRoute` converts errors of its own routes, and :func:`unknown_route`
answers every other path under the prefix (404, or 405 when only the method is wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from .errors import ClipwiseError, invalid_argument, not_found

#: every Clipwise path lives under this prefix and ends with ``/``
PREFIX = "/api/sdk/v1"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ClipwiseRoute(APIRoute):
    """An APIRoute whose errors (ours and FastAPI's validation errors) become envelopes."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler so errors never leave as ``{"detail": ...}``."""
        handler = super().get_route_handler()

        async def enveloped(request: Request) -> Response:
            try:
                return await handler(request)
            except ClipwiseError as exc:
                return exc.response()
            except RequestValidationError as exc:
                problems = [
                    {"location": [str(part) for part in error["loc"]], "message": error["msg"]}
                    for error in exc.errors()
                ]
                return invalid_argument("request parameters are invalid", errors=problems).response()

        return enveloped


def clipwise_router() -> APIRouter:
    """Return a router whose routes answer with Clipwise error envelopes."""
    return APIRouter(route_class=ClipwiseRoute)


async def unknown_route(request: Request) -> NoReturn:
    """Answer a path under the prefix that no Clipwise route serves with the method used."""
    path = request.url.path
    slashless_hint = False
    for route in request.app.router.routes:
        if not isinstance(route, APIRoute) or route.endpoint is unknown_route:
            continue
        if not route.path.startswith(PREFIX):
            continue
        if route.path_regex.match(path):
            raise ClipwiseError(
                405, "method_not_allowed", f"{request.method} is not allowed on {path}", {"path": path}
            )
        slashless_hint = slashless_hint or (
            not path.endswith("/") and bool(route.path_regex.match(path + "/"))
        )
    message = f"no Clipwise route {path}"
    if slashless_hint:
        message += "; Clipwise paths end with '/'"
    raise not_found(message, path=path)


def fallback_router() -> APIRouter:
    """Return the catch-all router; include it after every other Clipwise router."""
    router = clipwise_router()
    router.add_api_route(
        "/{path:path}",
        unknown_route,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
        response_model=None,
    )
    return router

"""Sandbox of the Clipwise generation API (``/api/sdk/v1/…``), served by the shared sandbox app.

:func:`install` mounts the routes and puts the state on ``app.state.clipwise``; see
``docs/sandbox_clipwise.md`` for token conventions, seeded assets and failure switches.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import (
    routes_extract,
    routes_formats,
    routes_generations,
    routes_products,
    routes_resources,
    routes_uploads,
)
from .routing import PREFIX, fallback_router
from .state import ClipwiseState

__all__ = ["ClipwiseState", "install"]


def install(app: FastAPI) -> None:
    """Mount the Clipwise routes (catch-all last) and their state on the sandbox app."""
    for module in (
        routes_formats,
        routes_resources,
        routes_uploads,
        routes_products,
        routes_generations,
        routes_extract,
    ):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(fallback_router(), prefix=PREFIX)
    app.state.clipwise = ClipwiseState()

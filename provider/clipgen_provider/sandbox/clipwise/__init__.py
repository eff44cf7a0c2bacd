"""Sandbox of the Clipwise API (placeholder until the Clipwise router lands)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the Clipwise routes and state on the sandbox app."""

"""The sandbox's control API under ``/_sandbox/`` (no auth) and the log of the API calls it saw.

Tests and demos use it to change settings at run time, add fault rules, hold a key's jobs in
progress until released (``/_sandbox/holds``), read what clients sent (``/_sandbox/calls``) and what
webhooks went out (``/_sandbox/webhooks``), and reset everything.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipgen_provider.sandbox.clipia_http import (
    ClipiaError,
    iso_utc,
    json_object,
    json_response,
    key_fingerprint,
    scope_header,
    scope_key_fingerprint,
)
from clipgen_provider.sandbox.faults import EXEMPT_PREFIXES, FAULT_SCOPE_KEY
from clipgen_provider.sandbox.settings import SandboxSettings

_LOG_LIMIT = 100_000
_CALL_FILTERS = ("method", "path", "key_fingerprint", "status", "idempotency_key")

router = APIRouter(prefix="/_sandbox", include_in_schema=False)


class CallLog:
    """The API calls the sandbox answered, newest last (bounded, oldest dropped first)."""

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=_LOG_LIMIT)

    def record(self, scope: Scope, status: int | None, started: float) -> None:
        """Append one call; the API key appears only as its fingerprint (ISO time on read)."""
        self.entries.append(
            {
                "time": started,
                "method": scope["method"],
                "path": scope["path"],
                "query": bytes(scope.get("query_string", b"")).decode("latin-1"),
                "status": status,
                "idempotency_key": scope_header(scope, b"idempotency-key"),
                "key_fingerprint": scope_key_fingerprint(scope),
                "fault": scope.get(FAULT_SCOPE_KEY),
                "duration_ms": round((time.time() - started) * 1000, 2),
            }
        )

    def query(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the calls matching every filter (``path`` is a prefix, the rest exact)."""
        unknown = sorted(set(filters) - set(_CALL_FILTERS))
        if unknown:
            raise ClipiaError(400, "invalid_request", f"unknown call filters: {', '.join(unknown)}")
        wanted = dict(filters)
        if "method" in wanted:
            wanted["method"] = wanted["method"].upper()
        path = wanted.pop("path", "")
        return [
            entry | {"time": iso_utc(entry["time"])}
            for entry in self.entries
            if entry["path"].startswith(path) and all(str(entry[k]) == v for k, v in wanted.items())
        ]


class CallLogMiddleware:
    """Record every API call (not the control API nor ``/healthz``) with the status answered."""

    def __init__(self, app: ASGIApp, log: CallLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        started = time.time()
        status: int | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.log.record(scope, status, started)


def _checked_settings(settings: SandboxSettings, values: Mapping[str, Any]) -> dict[str, Any]:
    """Type-check a settings patch against the current values; raise ``400`` on a bad one."""
    current = settings.as_dict()
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in current:
            raise ClipiaError(400, "invalid_request", f"unknown setting {name!r}")
        old = current[name]
        if isinstance(old, bool):
            ok = isinstance(value, bool)
        elif isinstance(old, list):
            ok = isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)
        elif isinstance(old, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            value = float(value) if ok else value
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not ok:
            kind = "a non-empty list of strings" if isinstance(old, list) else "a number >= 0"
            kind = "true or false" if isinstance(old, bool) else kind
            raise ClipiaError(400, "invalid_request", f"setting {name!r} must be {kind}")
        checked[name] = value
    return checked


@router.get("/settings")
async def get_settings(request: Request) -> Response:
    """The current settings."""
    return json_response(request.app.state.settings.as_dict())


@router.patch("/settings")
async def patch_settings(request: Request) -> Response:
    """Change some settings; jobs already submitted keep the timings they started with."""
    settings: SandboxSettings = request.app.state.settings
    settings.update(_checked_settings(settings, await json_object(request)))
    return json_response(settings.as_dict())


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    """Add a fault rule."""
    try:
        rule = request.app.state.faults.add(await json_object(request))
    except ValueError as exc:
        raise ClipiaError(400, "invalid_request", str(exc)) from exc
    return json_response({"fault": rule.as_dict()}, 201)


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    """The active fault rules, first match first."""
    return json_response({"faults": [rule.as_dict() for rule in request.app.state.faults.rules]})


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    """Remove every fault rule."""
    return json_response({"deleted": request.app.state.faults.clear()})


def _hold_key(body: Mapping[str, Any]) -> str:
    """The ``api_key`` a hold request names; ``400`` without one."""
    key = body.get("api_key")
    if not isinstance(key, str) or not key:
        raise ClipiaError(400, "invalid_request", "api_key must be a non-empty string")
    return key


@router.post("/holds")
async def add_hold(request: Request) -> Response:
    """Hold the Clipia jobs ``api_key`` submits from now on at ``progress`` percent (0-99) of their
    run, ``IN_PROGRESS``, until ``POST /_sandbox/holds/release``."""
    body = await json_object(request)
    key, progress = _hold_key(body), body.get("progress")
    if not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= 99:
        raise ClipiaError(400, "invalid_request", "progress must be a whole percentage from 0 to 99")
    request.app.state.clipia.hold(key, progress)
    return json_response({"hold": {"key_fingerprint": key_fingerprint(key), "progress": progress}}, 201)


@router.post("/holds/release")
async def release_holds(request: Request) -> Response:
    """Lift ``api_key``'s hold: its held jobs run the rest of their time from now."""
    key = _hold_key(await json_object(request))
    return json_response({"released": request.app.state.clipia.release(key)})


@router.get("/calls")
async def list_calls(request: Request) -> Response:
    """The API calls received, filtered by ``method``, ``path`` (prefix), ``key_fingerprint``,
    ``status`` and ``idempotency_key``."""
    return json_response({"calls": request.app.state.calls.query(request.query_params)})


@router.delete("/calls")
async def clear_calls(request: Request) -> Response:
    """Forget the call log."""
    log: CallLog = request.app.state.calls
    count = len(log.entries)
    log.entries.clear()
    return json_response({"deleted": count})


@router.get("/webhooks")
async def list_webhook_attempts(request: Request) -> Response:
    """Every webhook delivery attempt, optionally for one ``request_id``."""
    request_id = request.query_params.get("request_id")
    attempts = [
        attempt
        for attempt in request.app.state.webhooks.attempts
        if request_id is None or attempt["request_id"] == request_id
    ]
    return json_response({"attempts": attempts})


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Back to a fresh process: start-up settings, no accounts, jobs, faults, logs or deliveries."""
    state = request.app.state
    state.clipia.reset()
    state.faults.clear()
    state.calls.entries.clear()
    state.webhooks.reset()
    state.settings.update(state.startup_settings.as_dict())
    clipwise = getattr(state, "clipwise", None)
    if clipwise is not None:
        clipwise.reset()
    return json_response({"status": "reset"})

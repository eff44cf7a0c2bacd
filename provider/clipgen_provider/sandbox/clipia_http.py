"""HTTP vocabulary shared by the sandbox modules: the Clipia error envelope, JSON answers, keys.

Every non-2xx body the sandbox produces for Clipia paths is ``{"error": {"code", "message",
"type"}}`` with the codes and types of the contract, so clients exercise their real error mapping.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

#: the contract's error codes and the ``type`` that groups each
ERROR_TYPES: dict[str, str] = {
    "invalid_request": "invalid_request_error",
    "model_input_invalid": "invalid_request_error",
    "webhook_url_invalid": "invalid_request_error",
    "not_found": "invalid_request_error",
    "model_not_found": "invalid_request_error",
    "idempotency_key_reuse": "invalid_request_error",
    "invalid_api_key": "authentication_error",
    "insufficient_scope": "permission_error",
    "insufficient_credits": "billing_error",
    "subscription_required": "billing_error",
    "rate_limit_exceeded": "rate_limit_error",
    "concurrency_limit_exceeded": "rate_limit_error",
    "internal_error": "api_error",
    "service_unavailable": "api_error",
}

_CODE_BY_STATUS: dict[int, str] = {
    401: "invalid_api_key",
    402: "insufficient_credits",
    403: "insufficient_scope",
    404: "not_found",
    409: "idempotency_key_reuse",
    429: "rate_limit_exceeded",
    503: "service_unavailable",
}


def default_code(status: int) -> str:
    """Return the contract's usual error code for an HTTP status."""
    if status in _CODE_BY_STATUS:
        return _CODE_BY_STATUS[status]
    return "internal_error" if status >= 500 else "invalid_request"


def error_type(code: str, status: int) -> str:
    """Return the ``type`` of an error code; codes outside the contract are typed by status."""
    if code in ERROR_TYPES:
        return ERROR_TYPES[code]
    if status >= 500:
        return "api_error"
    return ERROR_TYPES[default_code(status)]


class ClipiaError(Exception):
    """An error answer: raised anywhere in a handler, rendered as the contract's envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_payload(status: int, code: str, message: str) -> dict[str, Any]:
    """Return the error envelope ``{"error": {"code", "message", "type"}}``."""
    return {"error": {"code": code, "message": message, "type": error_type(code, status)}}


def dumps(payload: Any) -> bytes:
    """Serialise compactly; one encoder for every body the sandbox writes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Answer JSON without FastAPI's encoder pass (the status poll is a hot path)."""
    return Response(dumps(payload), status_code=status, headers=headers, media_type="application/json")


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Answer an error envelope."""
    return json_response(error_payload(status, code, message), status, headers)


async def clipia_error_handler(request: Request, exc: Exception) -> Response:
    """Render a raised :class:`ClipiaError` (registered on the app)."""
    assert isinstance(exc, ClipiaError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def json_object(request: Request) -> dict[str, Any]:
    """Parse the request body as a JSON object, or raise ``400 invalid_request``."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ClipiaError(400, "invalid_request", "The request body must be a JSON object")
    return body


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header value, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@functools.lru_cache(maxsize=4096)
def key_fingerprint(key: str) -> str:
    """Return a short SHA-256 fingerprint that names an API key in logs without revealing it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def credits_number(value: float) -> float | int:
    """Render a credit amount as an int when it is whole (``10000`` rather than ``10000.0``)."""
    return int(value) if float(value).is_integer() else round(value, 2)


def scope_header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """Return a request header from a raw ASGI scope (``name`` in lowercase), for middlewares."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def scope_key_fingerprint(scope: Mapping[str, Any]) -> str | None:
    """Return the fingerprint of the request's bearer key, if it carries one."""
    token = bearer_token(scope_header(scope, b"authorization"))
    return key_fingerprint(token) if token else None


def iso_utc(timestamp: float) -> str:
    """Render a unix time as ISO-8601 UTC with milliseconds, e.g. ``2026-01-02T03:04:05.678Z``."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""The Clipwise error envelope and the errors the sandbox raises.

Every non-2xx answer under ``/api/sdk/v1/`` is
``{"error": {"code", "message", "details"}, "request_id": "req_…"}``, the shape the provider's
hook parses; handlers raise :class:`ClipwiseError` and :mod:`.routing` renders it.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from .ids import new_id


class ClipwiseError(Exception):
    """An API error with its HTTP status, machine-readable code and details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> JSONResponse:
        """Render the error envelope, with a fresh request id also sent as ``X-Request-Id``."""
        request_id = new_id("req")
        body = {
            "error": {"code": self.code, "message": self.message, "details": self.details},
            "request_id": request_id,
        }
        return JSONResponse(body, status_code=self.status, headers={"X-Request-Id": request_id})


def invalid_argument(message: str, **details: Any) -> ClipwiseError:
    """400: the request names something wrong (a parameter, a format, an asset)."""
    return ClipwiseError(400, "invalid_argument", message, details)


def invalid_upload(message: str) -> ClipwiseError:
    """400: a multipart upload without a usable ``file``."""
    return ClipwiseError(400, "invalid_upload", message)


def not_found(message: str, **details: Any) -> ClipwiseError:
    """404: no such route, format or record visible to this token."""
    return ClipwiseError(404, "not_found", message, details)


def permission_denied(message: str, **details: Any) -> ClipwiseError:
    """403: the record exists but this token may not change it (shared catalog records)."""
    return ClipwiseError(403, "permission_denied", message, details)

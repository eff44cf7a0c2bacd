"""One small exception hierarchy for the whole provider.

Everything the provider raises on purpose derives from :class:`ClipgenError`, so a DAG author can
catch the provider's failures with one ``except``. Permanent errors (bad input, bad credentials,
no credits) are told apart from transient ones (network, 429, 5xx) by :attr:`ClipgenApiError.is_transient`;
operators turn permanent errors into ``AirflowFailException`` so they do not burn task retries.
"""

from __future__ import annotations

from typing import Any

#: HTTP statuses that are worth retrying: throttling and server-side trouble.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class ClipgenError(Exception):
    """Base class of every error the provider raises on purpose."""


class ClipgenConfigError(ClipgenError, ValueError):
    """A connection or operator parameter is wrong; the message says which and how to fix it."""


class ClipgenApiError(ClipgenError):
    """The API answered with an error envelope, or could not be reached.

    ``status_code`` is ``None`` for network errors (nothing came back). ``code``, ``message`` and
    ``type`` come from the API's error envelope; ``details`` carries structured detail (Clipwise);
    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one.
    """

    api_name = "API"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        type: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        details: Any = None,
        transient: bool | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.type = type
        self.retry_after = retry_after
        self.request_id = request_id
        self.details = details
        self._transient = transient
        super().__init__(self._render())

    @property
    def status(self) -> int | None:
        """Alias of :attr:`status_code`, the name the Clipia contract uses."""
        return self.status_code

    @property
    def is_transient(self) -> bool:
        """True for network errors, 429, 5xx and garbled answers: retrying later may succeed."""
        if self._transient is not None:
            return self._transient
        return self.status_code is None or self.status_code in TRANSIENT_STATUSES

    def _render(self) -> str:
        where = f"HTTP {self.status_code}" if self.status_code is not None else "network error"
        code = f" {self.code}" if self.code else ""
        text = f"{self.api_name} {where}{code}: {self.message}"
        if self.details:
            text += f" (details: {self.details})"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text


class ClipiaApiError(ClipgenApiError):
    """An error answered by (or on the way to) the Clipia API."""

    api_name = "Clipia"


class ClipwiseApiError(ClipgenApiError):
    """An error answered by (or on the way to) the Clipwise API."""

    api_name = "Clipwise"


class ClipgenJobFailed(ClipgenError):
    """A remote generation ended FAILED or CANCELED; nothing more will come of it."""

    def __init__(self, message: str, *, job_id: str, status: str, error: Any = None) -> None:
        self.job_id = job_id
        self.status = status
        self.error = error
        super().__init__(message)

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


#: what to do next, by API error code; appended to the error message
ACTION_HINTS: dict[str, str] = {
    "invalid_api_key": "check the API key in the connection's Password field",
    "insufficient_credits": "top up credits on the account, or lower the request's cost",
    "subscription_required": "this model needs an active plan; topping up credits does not help",
    "insufficient_scope": "use a key or token that has the scope named above",
    "model_not_found": "check the model slug against the catalog (ClipiaHook.list_models())",
    "model_input_invalid": "fix the input named above; the model's input_schema lists what it accepts",
    "webhook_url_invalid": "pass an absolute https:// webhook URL",
    "idempotency_key_reuse": "use a new idempotency key for a changed input",
    "rate_limit_exceeded": "lower the request rate (Airflow pools help) or wait",
    "concurrency_limit_exceeded": "run fewer generations at once (an Airflow pool caps them)",
    "invalid_argument": "fix the parameters named in the details",
    "invalid_upload": "check the file: it must exist, be non-empty and be of a supported type",
    "unsupported_cancellation": "the job can no longer be cancelled; it will finish on its own",
}


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
        if self.code in ACTION_HINTS:
            text += f". What to do: {ACTION_HINTS[self.code]}."
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

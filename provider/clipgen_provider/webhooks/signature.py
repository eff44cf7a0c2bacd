"""HMAC-SHA256 signatures of Clipia webhook deliveries.

Clipia signs every delivery with ``X-Clipia-Signature: t=<unix seconds>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256 with the webhook signing secret over the UTF-8 string
``"{t}.{raw_body}"``. These are pure functions without Airflow imports: the sandbox signs with
:func:`sign` and the provider's webhook receiver checks with :func:`verify`.

:func:`verify` fails closed: anything it cannot parse or check is a rejection, never an exception,
because its caller is an unauthenticated HTTP endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

#: header carrying ``t=<unix seconds>,v1=<hex>``
SIGNATURE_HEADER = "X-Clipia-Signature"
#: informational delivery time; NOT covered by the signature, never use it to verify
TIMESTAMP_HEADER = "X-Clipia-Timestamp"
#: default freshness window of a signature, in seconds either side of now
DEFAULT_TOLERANCE_SECONDS = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def _utf8_body(body: bytes | str) -> bytes:
    """Return the body as UTF-8 bytes; raise ``UnicodeError`` when bytes are not UTF-8."""
    if isinstance(body, str):
        return body.encode("utf-8")
    body.decode("utf-8")  # the signed string is UTF-8: other bytes cannot carry a valid signature
    return body


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """Return the ``X-Clipia-Signature`` value for ``body`` signed now (or at ``timestamp``).

    Raises ``ValueError`` for an empty secret or a body that is not UTF-8: signing either is a bug
    in the caller, not something to paper over.
    """
    if not secret:
        raise ValueError("a webhook signing secret is required")
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(_utf8_body(body), secret, t)}"


def parse_header(header: str | None) -> tuple[int, list[str]] | None:
    """Split a signature header into its timestamp and its ``v1`` signatures.

    Extra comma-separated fields and spaces are tolerated, and ``v1`` values that are not 64 hex
    digits are skipped (they can never match). Returns ``None`` when the header is missing,
    carries no ``t`` or more than one, a non-integer ``t``, or no usable ``v1``.
    """
    if not isinstance(header, str):
        return None
    timestamps: list[str] = []
    signatures: list[str] = []
    for field in header.split(","):
        name, sep, value = field.partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name == "t":
            timestamps.append(value)
        elif name == "v1" and _HEX_DIGEST.fullmatch(value):
            signatures.append(value.lower())
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        return None
    return int(timestamps[0]), signatures


def verify(
    body: bytes | str,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Tell whether ``header`` is a fresh, valid signature of the raw ``body``.

    ``t`` is read from the signed header only (never from ``X-Clipia-Timestamp``) and must lie
    within ``tolerance_seconds`` of ``now``. Any ``v1`` value may match any of ``secrets``, so a
    secret can be rotated without downtime. Comparisons are constant-time. Returns ``False`` on any
    malformed input (missing or garbled header, non-UTF-8 body, no usable secret); never raises.
    """
    try:
        raw = _utf8_body(body)
    except (UnicodeError, AttributeError):
        return False
    parsed = parse_header(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    if isinstance(secrets, str):
        secrets = [secrets]
    usable = [s for s in secrets or () if isinstance(s, str) and s]
    matched = False
    for secret in usable:
        expected = _digest(raw, secret, timestamp)
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate)
    return matched

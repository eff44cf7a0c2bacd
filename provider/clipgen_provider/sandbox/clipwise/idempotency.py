"""The per-token ``Idempotency-Key`` store of ``POST generations/`` (kept 24 hours).

The same key with the same body answers the job created first, so a retried submit never pays
twice; the same key with a different body is a client bug and answers ``409``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ClipwiseError, invalid_argument

TTL_SECONDS = 24 * 3600
_MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class _Entry:
    fingerprint: str
    generation_id: str
    stored_at: float


def _fingerprint(body: Mapping[str, Any]) -> str:
    """Digest of a JSON body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class IdempotencyStore:
    """Keys a token used, the body each came with and the job each created."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    @staticmethod
    def check_key(key: str) -> None:
        """Reject blank or overlong keys."""
        if not key.strip() or len(key) > _MAX_KEY_LENGTH:
            raise invalid_argument(
                f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} characters", parameter="Idempotency-Key"
            )

    def replay(self, key: str, body: Mapping[str, Any], at: float) -> str | None:
        """Return the job id stored for ``key``, None if unused; 409 when the body differs."""
        entry = self.entries.get(key)
        if entry is None or at - entry.stored_at > TTL_SECONDS:
            return None
        if entry.fingerprint != _fingerprint(body):
            raise ClipwiseError(
                409,
                "idempotency_key_reuse",
                "this Idempotency-Key was used with a different request body",
                {"generation_id": entry.generation_id},
            )
        return entry.generation_id

    def remember(self, key: str, body: Mapping[str, Any], generation_id: str, at: float) -> None:
        """Store the job created for ``key`` and ``body``."""
        self.entries[key] = _Entry(_fingerprint(body), generation_id, at)

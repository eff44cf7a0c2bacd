"""Run-time settings of the sandbox, shared by the Clipia and Clipwise routers.

The settings live on ``app.state.settings``; tests change them at run time through
``PATCH /_sandbox/settings`` so one sandbox process can serve many scenarios.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SandboxSettings:
    """Timing, money and signing knobs of the sandbox."""

    #: seconds a new job stays queued before it starts running
    queue_seconds: float = 0.5
    #: seconds a started job runs before it reaches its terminal state
    run_seconds: float = 2.0
    #: credits every new account (one per API key or token) starts with
    initial_credits: float = 10_000.0
    #: secrets used to sign Clipia webhooks; the first one signs
    webhook_secrets: list[str] = field(default_factory=lambda: ["whsec_sandbox"])
    #: seconds between webhook delivery attempts while the receiver answers non-2xx
    webhook_retry_seconds: float = 0.5
    #: how many times a webhook delivery is attempted before it is dropped
    webhook_max_attempts: int = 8
    #: Clipia generations one account may have in flight (0: no limit); beyond it submit is 429
    concurrency_limit: int = 0
    #: uneven, seeded job timelines (queue moves, stalls, jumps, surprises: see ``pace.py``)
    #: instead of an even progress over exactly ``queue_seconds`` + ``run_seconds``
    realism: bool = False
    #: the seed of those timelines: the same seed and order of submits give the same timelines
    realism_seed: int = 0

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update, rejecting unknown names."""
        known = asdict(self)
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(unknown)}")
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-serialisable values."""
        return asdict(self)

"""Wall-clock time and the lazy queued → running → done timeline of sandbox jobs.

Jobs never run in the background: their state is computed from the creation time and the
durations stored on the job, so a job moves through real states over real time without threads,
and a changed sandbox setting never alters a job that already started. Under the ``realism``
setting a job's timeline carries its seeded :class:`~clipgen_provider.sandbox.pace.Pace`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from clipgen_provider.sandbox.pace import Pace, draw_pace
from clipgen_provider.sandbox.settings import SandboxSettings

Phase = Literal["queued", "running", "done"]


def now() -> float:
    """Return the current time as epoch seconds."""
    return time.time()


def iso(epoch: float) -> str:
    """Format epoch seconds as an ISO 8601 UTC timestamp ending in ``Z``.

    The fixed millisecond precision keeps timestamps of one length, so they also sort as strings.
    """
    stamp = datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


@dataclass(frozen=True)
class Timeline:
    """When a job was created and how long it waits and runs."""

    created_at: float
    queue_seconds: float
    run_seconds: float
    #: the uneven progress under ``realism`` (None: even)
    pace: Pace | None = None

    @classmethod
    def for_job(cls, at: float, settings: SandboxSettings, index: int) -> Timeline:
        """The timeline of an account's ``index``-th job created at ``at``, from the settings."""
        if not settings.realism:
            return cls(at, settings.queue_seconds, settings.run_seconds)
        pace = draw_pace(settings.realism_seed, index, settings.queue_seconds, settings.run_seconds)
        return cls(at, pace.queue_seconds, pace.run_seconds, pace)

    @property
    def started_at(self) -> float:
        """Moment the job leaves the queue."""
        return self.created_at + self.queue_seconds

    @property
    def finished_at(self) -> float:
        """Moment the job reaches its terminal state."""
        return self.started_at + self.run_seconds

    def phase(self, at: float) -> Phase:
        """Return where the job stands at epoch ``at``."""
        if at >= self.finished_at:
            return "done"
        if at >= self.started_at:
            return "running"
        return "queued"

    def progress(self, at: float) -> int:
        """Return the completed share of the work in percent (0 while queued, 100 when done)."""
        phase = self.phase(at)
        if phase == "queued":
            return 0
        if phase == "done":
            return 100
        if self.pace is not None:
            return self.pace.progress(at - self.started_at)
        return min(99, int(100 * (at - self.started_at) / self.run_seconds))

    def changed_at(self, at: float) -> float:
        """Return when the phase seen at ``at`` began (the job's ``updated_at``)."""
        phase = self.phase(at)
        if phase == "done":
            return self.finished_at
        if phase == "running":
            return self.started_at
        return self.created_at

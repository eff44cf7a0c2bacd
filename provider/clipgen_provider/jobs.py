"""The API-neutral picture of a remote generation job, shared by operators, triggers and sensors.

Clipia calls them requests (``IN_QUEUE`` … ``COMPLETED``), Clipwise calls them generations
(``queued`` … ``completed``). Each hook module maps its answers to :class:`JobState`, so the
waiting logic (triggers, blocking waits, progress logging) exists once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: what a trigger reports when it stops watching a job
EventStatus = Literal["success", "failed", "error", "timeout"]
EVENT_STATUSES: frozenset[str] = frozenset({"success", "failed", "error", "timeout"})


@dataclass(frozen=True)
class JobState:
    """One observation of a remote job."""

    job_id: str
    status: str
    terminal: bool
    succeeded: bool
    queue_position: int | None = None
    progress: int | None = None
    error: str | None = None

    def describe(self) -> str:
        """A short human line: ``IN_QUEUE (position 2)``, ``IN_PROGRESS 40%``, ``FAILED: why``."""
        text = self.status
        if self.queue_position is not None and not self.terminal:
            text += f" (queue position {self.queue_position})"
        if self.progress is not None and not self.terminal:
            text += f" {self.progress}%"
        if self.error:
            text += f": {self.error}"
        return text


class StatusTracker:
    """Says what changed between observations, so logs get one line per change, not per poll."""

    def __init__(self) -> None:
        self._last: tuple[str, int | None, int | None] | None = None

    def change(self, state: JobState) -> str | None:
        """The line to log for ``state``, or None when nothing a reader cares about changed."""
        key = (state.status, state.queue_position, state.progress)
        if key == self._last:
            return None
        self._last = key
        return state.describe()


def trigger_event(state: JobState | None, status: EventStatus, job_id: str, message: str) -> dict[str, Any]:
    """The payload every provider trigger yields: one schema, validated by the operators."""
    return {
        "status": status,
        "job_id": job_id,
        "remote_status": state.status if state else None,
        "message": message,
    }

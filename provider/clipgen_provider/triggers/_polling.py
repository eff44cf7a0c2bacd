"""A trigger that watches one remote job by polling its status until it is terminal.

Built for triggerers holding thousands of waits: one shared HTTP pool per event loop (the hook's
``async with``), no per-poll client, jittered poll times so waits started together do not poll
together, and an absolute deadline that survives triggerer restarts. The trigger only reads: it
never submits or pays for anything, so a triggerer restart that re-runs :meth:`run` costs nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from clipgen_provider.exceptions import ClipgenApiError
from clipgen_provider.hooks._base import ClipgenApiHook
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.jobs import EventStatus, JobState, StatusTracker, trigger_event

#: polls are spread by up to this fraction of the interval
_JITTER = 0.1
#: one attempt per poll: the trigger's own tolerance of consecutive failures does the retrying
TRIGGER_RETRY = RetryPolicy(max_attempts=1)


class JobPollingTrigger(BaseTrigger):
    """Poll a job's status every ``poll_interval`` seconds until it is terminal or ``deadline`` passes.

    :param job_id: the remote job (Clipia request id, Clipwise generation id, …)
    :param conn_id: the Airflow connection to read it with
    :param poll_interval: seconds between status polls
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (None: no limit)
    :param max_consecutive_errors: transient failures in a row tolerated before an ``error`` event
    """

    def __init__(
        self,
        *,
        job_id: str,
        conn_id: str,
        poll_interval: float = 5.0,
        deadline: float | None = None,
        max_consecutive_errors: int = 5,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_consecutive_errors = max_consecutive_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Plain JSON kwargs: the trigger is rebuilt from them after a triggerer restart."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    @abstractmethod
    def make_hook(self) -> ClipgenApiHook:
        """The hook to poll with (built with :data:`TRIGGER_RETRY`)."""

    @abstractmethod
    async def fetch_state(self, hook: Any) -> JobState:
        """Read the job's current state once."""

    @property
    def job_label(self) -> str:
        """How log lines name the job, e.g. ``Clipia request abc``."""
        return f"job {self.job_id}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal, timed out, or the API keeps failing; yield exactly one event."""
        hook = self.make_hook()
        async with hook:
            payload = await self._watch(hook)
        yield TriggerEvent(payload)

    def _event(self, state: JobState | None, status: EventStatus, message: str) -> dict[str, Any]:
        return trigger_event(state, status, self.job_id, message)

    async def _watch(self, hook: Any) -> dict[str, Any]:
        tracker = StatusTracker()
        errors = 0
        state: JobState | None = None
        while True:
            if self.deadline is not None and time.time() >= self.deadline:
                return self._event(state, "timeout", f"{self.job_label} was not finished by the deadline")
            pause = self.poll_interval * (1 + random.uniform(-_JITTER, _JITTER))
            try:
                state = await self.fetch_state(hook)
            except ClipgenApiError as err:
                errors += 1
                if not err.is_transient or errors >= self.max_consecutive_errors:
                    return self._event(state, "error", f"could not read {self.job_label}: {err}")
                self.log.warning("Reading %s failed (%d in a row): %s", self.job_label, errors, err)
                pause = max(pause, err.retry_after or 0.0)
            else:
                errors = 0
                if line := tracker.change(state):
                    self.log.info("%s: %s", self.job_label, line)
                if state.terminal:
                    verdict: EventStatus = "success" if state.succeeded else "failed"
                    return self._event(state, verdict, f"{self.job_label} ended {state.describe()}")
            if self.deadline is not None:
                pause = min(pause, max(self.deadline - time.time(), 0.0))
            await asyncio.sleep(pause)

"""Triggers that wait for Clipwise work: a generation, and a social-video URL extraction.

Both only read (status GETs) over the event loop's shared HTTP pool, with an absolute deadline
(see :class:`~clipgen_provider.triggers._polling.JobPollingTrigger`). The one write is the
generation trigger's :meth:`~ClipwiseGenerationTrigger.on_kill`: when a user kills the deferred
task, it cancels the generation best-effort. It never cancels in ``cleanup()``, which also runs
when a triggerer restarts or hands the trigger to another triggerer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from clipgen_provider.exceptions import ClipwiseApiError
from clipgen_provider.hooks.clipwise import ClipwiseHook, clipwise_job_state, extract_url_job_state
from clipgen_provider.jobs import JobState
from clipgen_provider.triggers._polling import TRIGGER_RETRY, JobPollingTrigger

#: longest time ``on_kill`` spends reading and cancelling (Airflow bounds it too, but says to bound it)
ON_KILL_TIMEOUT_SECONDS = 15.0


def cancel_refusal(generation_id: str, error: ClipwiseApiError) -> str:
    """The log line for a cancel Clipwise refused: the job runs on (and is charged), not an error."""
    if error.code == "unsupported_cancellation":
        return (
            f"Clipwise generation {generation_id} can no longer be cancelled (it is past the stage where "
            f"its work can stop); it runs on to the end."
        )
    return f"Cancelling Clipwise generation {generation_id} failed, it may run on: {error}"


def nothing_to_cancel(state: JobState) -> str | None:
    """Why a generation in ``state`` is left alone (it already finished), or None to cancel it."""
    if state.terminal:
        return f"Clipwise generation {state.job_id} already ended {state.status}; nothing to cancel."
    return None


class ClipwiseGenerationTrigger(JobPollingTrigger):
    """Poll ``GET generations/{id}/`` until the generation is completed, failed or cancelled.

    Yields one event ``{"status": "success"|"failed"|"error"|"timeout", "job_id", "remote_status",
    "message"}``; the operator reads the outputs with one GET when it resumes.

    :param cancel_on_kill: cancel the generation (best-effort) when a user kills the waiting task;
        False for waits on a generation this task did not start (the sensor).
    """

    def __init__(self, *, cancel_on_kill: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cancel_on_kill = cancel_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The base's plain-JSON kwargs plus ``cancel_on_kill``."""
        classpath, kwargs = super().serialize()
        return classpath, {**kwargs, "cancel_on_kill": self.cancel_on_kill}

    @property
    def job_label(self) -> str:
        return f"Clipwise generation {self.job_id}"

    def make_hook(self) -> ClipwiseHook:
        return ClipwiseHook(self.conn_id, retry=TRIGGER_RETRY)

    async def fetch_state(self, hook: Any) -> JobState:
        return clipwise_job_state(await hook.aget_generation(self.job_id))

    async def on_kill(self) -> None:
        """A user killed the deferred task: cancel the generation if it still runs, never raising."""
        if not self.cancel_on_kill:
            return
        try:
            await asyncio.wait_for(self._cancel(), timeout=ON_KILL_TIMEOUT_SECONDS)
        except ClipwiseApiError as err:
            self.log.warning(cancel_refusal(self.job_id, err))
        except asyncio.TimeoutError:
            self.log.warning(
                "Cancelling %s took longer than %s s; it may run on.", self.job_label, ON_KILL_TIMEOUT_SECONDS
            )

    async def _cancel(self) -> None:
        hook = self.make_hook()
        async with hook:
            reason = nothing_to_cancel(await self.fetch_state(hook))
            if reason:
                self.log.info(reason)
                return
            await hook.acancel_generation(self.job_id)
        self.log.warning("Task killed: cancelled %s.", self.job_label)


class ClipwiseExtractUrlTrigger(JobPollingTrigger):
    """Poll ``GET extract-url/{task_id}/`` until the extraction is ready (succeeded or failed).

    ``job_id`` is the extraction's ``task_id``. Yields the same event schema as the generation
    trigger; ``ready`` with ``success: false`` is a ``failed`` event naming the ``error_code``.
    """

    @property
    def job_label(self) -> str:
        return f"Clipwise URL extraction {self.job_id}"

    def make_hook(self) -> ClipwiseHook:
        return ClipwiseHook(self.conn_id, retry=TRIGGER_RETRY)

    async def fetch_state(self, hook: Any) -> JobState:
        return extract_url_job_state(self.job_id, await hook.aget_extract_url(self.job_id))

"""Trigger that waits for a Clipia request to finish."""

from __future__ import annotations

from typing import Any

from clipgen_provider.hooks.clipia import ClipiaHook, clipia_job_state
from clipgen_provider.jobs import JobState
from clipgen_provider.triggers._polling import TRIGGER_RETRY, JobPollingTrigger


class ClipiaRequestTrigger(JobPollingTrigger):
    """Poll ``GET /v1/requests/{id}/status`` until the request is COMPLETED, FAILED or CANCELED.

    Yields one event ``{"status": "success"|"failed"|"error"|"timeout", "job_id", "remote_status",
    "message"}``; the operator confirms a success with one result GET.
    """

    @property
    def job_label(self) -> str:
        return f"Clipia request {self.job_id}"

    def make_hook(self) -> ClipiaHook:
        return ClipiaHook(self.conn_id, retry=TRIGGER_RETRY)

    async def fetch_state(self, hook: Any) -> JobState:
        return clipia_job_state(await hook.aget_status(self.job_id))

"""Sensor that waits for a Clipia request submitted elsewhere to finish, and keeps its media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from clipgen_provider.jobs import JobState
from clipgen_provider.sensors._job import ClipgenJobSensor

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipia import ClipiaHook
    from clipgen_provider.triggers.clipia import ClipiaRequestTrigger


class ClipiaRequestSensor(ClipgenJobSensor):
    """Wait until a Clipia request is terminal; return its result digest, fail if it FAILED/CANCELED.

    Made for "submit here, sense there": a ``ClipiaGenerateOperator(wait_for_completion=False)``
    (or any other system) submits, this sensor waits, copies the media to ``output_path`` and
    announces them on its outlet Assets, exactly as the generate operator would have. It only
    reads: it never submits or pays. With ``deferrable=True`` the wait runs in the triggerer
    (:class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`), polling near the
    job's estimated end (``poll_schedule``; doubling with ``exponential_backoff``) until ``timeout``, with
    ``soft_fail`` and the other sensor options behaving as they do when poking. A failed
    request fails the task with Clipia's message and code, or skips it with ``soft_fail=True``.

    Returns ``{request_id, status, model, output, cost, media_urls, created_at, completed_at}``,
    plus ``stored_paths`` with ``output_path``.

    :param request_id: the request to wait for (templated, e.g. from an XCom or an Asset event)
    :param clipia_conn_id: the ``clipia`` connection
    """

    template_fields: Sequence[str] = ("request_id", "output_path", "clipia_conn_id")
    ui_color = "#e8d7ff"

    job_noun: ClassVar[str] = "Clipia request"

    def __init__(self, *, request_id: str, clipia_conn_id: str = "clipia_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_id = request_id
        self.clipia_conn_id = clipia_conn_id

    @cached_property
    def hook(self) -> ClipiaHook:
        """The hook for ``clipia_conn_id``."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        return ClipiaHook(self.clipia_conn_id)

    @property
    def job_id(self) -> str:
        return str(self.request_id)

    def read_job(self) -> tuple[JobState, Mapping[str, Any] | None]:
        """The status; once terminal, also the result (it holds the outputs, or Clipia's error)."""
        from clipgen_provider.hooks.clipia import clipia_job_state

        state = clipia_job_state(self.hook.get_status(self.job_id))
        return state, self.hook.get_result(self.job_id) if state.terminal else None

    def summarize(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        from clipgen_provider.hooks.clipia import result_summary

        return dict(result_summary(dict(answer)))

    def make_trigger(self, deadline: float, polling: dict[str, Any]) -> ClipiaRequestTrigger:
        from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

        return ClipiaRequestTrigger(
            job_id=self.job_id,
            conn_id=self.clipia_conn_id,
            deadline=deadline,
            **polling,
        )

"""Sensor that waits for a Clipwise generation started elsewhere to finish, and keeps its media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from clipgen_provider.jobs import JobState
from clipgen_provider.operators.clipwise_base import ClipwiseHookMixin
from clipgen_provider.sensors._job import ClipgenJobSensor

if TYPE_CHECKING:
    from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger


class ClipwiseGenerationSensor(ClipwiseHookMixin, ClipgenJobSensor):
    """Wait until a Clipwise generation is terminal; return its outputs, fail if it failed or was
    cancelled.

    Made for "submit here, sense there": a ``ClipwiseGenerateOperator(wait_for_completion=False)``
    (or the Clipwise CLI, or another system) starts the generation, this sensor waits, copies the
    media to ``output_path`` and announces them on its outlet Assets, exactly as the generate
    operator would have. It only reads: it never starts, pays for, or cancels anything (killing the
    sensor leaves the generation running). With ``deferrable=True`` the wait runs in the triggerer
    (:class:`~clipgen_provider.triggers.clipwise.ClipwiseGenerationTrigger`), polling near the
    job's estimated end (``poll_schedule``; doubling with ``exponential_backoff``) until ``timeout``, with
    ``soft_fail`` and the other sensor options behaving as they do when poking. A failed
    generation fails the task with Clipwise's message and code, or skips it with ``soft_fail=True``.

    Returns the same digest as :class:`~clipgen_provider.operators.clipwise.ClipwiseGenerateOperator`,
    plus ``stored_paths`` with ``output_path``.

    :param generation_id: the generation to wait for, e.g. ``gen_…`` (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("generation_id", "output_path", "clipwise_conn_id")
    ui_color = "#d7f0ff"

    job_noun: ClassVar[str] = "Clipwise generation"

    def __init__(
        self, *, generation_id: str, clipwise_conn_id: str = "clipwise_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.generation_id = generation_id
        self.clipwise_conn_id = clipwise_conn_id

    @property
    def job_id(self) -> str:
        return str(self.generation_id)

    def read_job(self) -> tuple[JobState, Mapping[str, Any] | None]:
        """One read of the generation: its state, its outputs or its error."""
        from clipgen_provider.hooks.clipwise import clipwise_job_state

        generation = self.hook.get_generation(self.job_id)
        return clipwise_job_state(generation), generation

    def summarize(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        from clipgen_provider.operators.clipwise_results import generation_summary

        return dict(generation_summary(answer))

    def make_trigger(self, deadline: float, polling: dict[str, Any]) -> ClipwiseGenerationTrigger:
        from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

        return ClipwiseGenerationTrigger(
            job_id=self.job_id,
            conn_id=self.clipwise_conn_id,
            deadline=deadline,
            **polling,
            cancel_on_kill=False,
        )

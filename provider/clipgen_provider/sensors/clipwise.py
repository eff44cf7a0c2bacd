"""Sensor that waits for a Clipwise generation started elsewhere to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from clipgen_provider.operators._job import fail_fast_on_permanent_errors
from clipgen_provider.operators.clipwise_base import ClipwiseHookMixin


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ClipwiseGenerationSensor(ClipwiseHookMixin, BaseSensorOperator):
    """Wait until a Clipwise generation is terminal; return its outputs, fail if it failed or was
    cancelled.

    It only reads: it never starts, pays for, or cancels anything (killing the sensor leaves the
    generation running). With ``deferrable=True`` the wait runs in the triggerer
    (:class:`~clipgen_provider.triggers.clipwise.ClipwiseGenerationTrigger`), polling every
    ``poke_interval`` seconds until ``timeout``. Returns the same digest as
    :class:`~clipgen_provider.operators.clipwise.ClipwiseGenerateOperator`.

    :param generation_id: the generation to wait for, e.g. ``gen_…`` (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("generation_id", "clipwise_conn_id")
    ui_color = "#d7f0ff"

    def __init__(
        self,
        *,
        generation_id: str,
        clipwise_conn_id: str = "clipwise_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generation_id = generation_id
        self.clipwise_conn_id = clipwise_conn_id
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One read; once completed, the generation's digest becomes the XCom value."""
        from clipgen_provider.hooks.clipwise import clipwise_job_state
        from clipgen_provider.operators.clipwise_results import generation_summary

        with fail_fast_on_permanent_errors():
            generation = self.hook.get_generation(self.generation_id)
        state = clipwise_job_state(generation)
        self.log.info("Clipwise generation %s: %s", self.generation_id, state.describe())
        if not state.terminal:
            return False
        if not state.succeeded:
            reason = state.error or "no reason given"
            raise AirflowFailException(
                f"Clipwise generation {self.generation_id} ended {state.status}: {reason}"
            )
        return PokeReturnValue(is_done=True, xcom_value=generation_summary(generation))

    def execute(self, context: Context) -> Any:
        """Poke once; if not done and deferrable, hand the wait to the triggerer."""
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

        self.defer(
            trigger=ClipwiseGenerationTrigger(
                job_id=self.generation_id,
                conn_id=self.clipwise_conn_id,
                poll_interval=_seconds(self.poke_interval),
                deadline=time.time() + _seconds(self.timeout),
                cancel_on_kill=False,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: the digest, or why the wait failed."""
        status = (event or {}).get("status")
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"Clipwise generation {self.generation_id} did not finish within {self.timeout}"
            )
        if status == "error":
            raise AirflowException(str((event or {}).get("message")))
        done = self.poke(context)
        if not isinstance(done, PokeReturnValue):
            raise AirflowException(
                f"Clipwise generation {self.generation_id}: unexpected trigger event {event!r}"
            )
        return done.xcom_value

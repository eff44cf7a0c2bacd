"""Sensor that waits for a Clipia request submitted elsewhere to finish."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from clipgen_provider.operators._job import fail_fast_on_permanent_errors

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipia import ClipiaHook


class ClipiaRequestSensor(BaseSensorOperator):
    """Wait until a Clipia request is terminal; return its result digest, fail if it FAILED/CANCELED.

    It only reads: it never submits or pays. With ``deferrable=True`` the wait runs in the
    triggerer (:class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`), polling every
    ``poke_interval`` seconds until ``timeout``.

    :param request_id: the request to wait for (templated, e.g. from an XCom)
    :param clipia_conn_id: the ``clipia`` connection
    """

    template_fields: Sequence[str] = ("request_id", "clipia_conn_id")
    ui_color = "#e8d7ff"

    def __init__(
        self,
        *,
        request_id: str,
        clipia_conn_id: str = "clipia_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.request_id = request_id
        self.clipia_conn_id = clipia_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ClipiaHook:
        """The hook for ``clipia_conn_id``."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        return ClipiaHook(self.clipia_conn_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One status read; on COMPLETED, the result digest becomes the XCom value."""
        from clipgen_provider.hooks.clipia import clipia_job_state, result_summary

        with fail_fast_on_permanent_errors():
            state = clipia_job_state(self.hook.get_status(self.request_id))
            self.log.info("Clipia request %s: %s", self.request_id, state.describe())
            if not state.terminal:
                return False
            result = self.hook.get_result(self.request_id)
        if not state.succeeded:
            raise AirflowFailException(
                f"Clipia request {self.request_id} ended {state.status}: {result.get('error')}"
            )
        return PokeReturnValue(is_done=True, xcom_value=result_summary(result))

    def execute(self, context: Context) -> Any:
        """Poke once; if not done and deferrable, hand the wait to the triggerer."""
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

        timeout = self.timeout.total_seconds() if isinstance(self.timeout, timedelta) else float(self.timeout)
        poke_interval = (
            self.poke_interval.total_seconds()
            if isinstance(self.poke_interval, timedelta)
            else float(self.poke_interval)
        )
        self.defer(
            trigger=ClipiaRequestTrigger(
                job_id=self.request_id,
                conn_id=self.clipia_conn_id,
                poll_interval=poke_interval,
                deadline=time.time() + timeout,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: the result digest, or the reason the wait failed."""
        status = (event or {}).get("status")
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"Clipia request {self.request_id} did not finish within {self.timeout}"
            )
        if status == "error":
            raise AirflowException(str((event or {}).get("message")))
        done = self.poke(context)
        if not isinstance(done, PokeReturnValue):
            raise AirflowException(f"Clipia request {self.request_id}: unexpected trigger event {event!r}")
        return done.xcom_value

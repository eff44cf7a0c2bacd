"""Sensor that guards a run's spending: it checks the Clipia account holds enough credits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

from clipgen_provider.operators._job import fail_fast_on_permanent_errors


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ClipiaBalanceSensor(BaseSensorOperator):
    """Succeed when the account holds at least ``min_credits``; otherwise fail or wait.

    Put it in front of a batch of generations so a run that cannot be paid for stops before it
    starts. ``wait=False`` fails at once when the balance is short (no retries burned);
    ``wait=True`` waits for a top-up — in the triggerer when ``deferrable=True``.
    Returns the balance as XCom.

    :param min_credits: the least balance the run needs (templated)
    :param wait: wait for a top-up instead of failing at once
    :param clipia_conn_id: the ``clipia`` connection
    :param deferrable: with ``wait=True``, wait for the top-up in the triggerer
        (:class:`~clipgen_provider.triggers.clipia_balance.ClipiaBalanceTrigger`) instead of on a
        worker; default: Airflow's ``[operators] default_deferrable``
    """

    template_fields: Sequence[str] = ("min_credits", "clipia_conn_id")
    ui_color = "#e8d7ff"

    def __init__(
        self,
        *,
        min_credits: float,
        wait: bool = False,
        clipia_conn_id: str = "clipia_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_credits = min_credits
        self.wait = wait
        self.clipia_conn_id = clipia_conn_id
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the balance once."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        with fail_fast_on_permanent_errors():
            balance = float(ClipiaHook(self.clipia_conn_id).get_account()["balance"]["credits"])
        needed = float(self.min_credits)
        if balance >= needed:
            self.log.info("Clipia balance %s covers the %s credits this run needs.", balance, needed)
            return PokeReturnValue(is_done=True, xcom_value=balance)
        if not self.wait:
            raise AirflowFailException(
                f"The Clipia account holds {balance} credits, less than the {needed} this run needs. "
                "Top up credits, or set wait=True to wait for a top-up."
            )
        self.log.info("Clipia balance %s is below %s credits; waiting for a top-up.", balance, needed)
        return False

    def execute(self, context: Context) -> Any:
        """Check once; if short and waiting deferrably, hand the wait to the triggerer."""
        if not (self.deferrable and self.wait):
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        from clipgen_provider.triggers.clipia_balance import ClipiaBalanceTrigger

        self.defer(
            trigger=ClipiaBalanceTrigger(
                conn_id=self.clipia_conn_id,
                min_credits=float(self.min_credits),
                poll_interval=_seconds(self.poke_interval),
                deadline=time.time() + _seconds(self.timeout),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: the balance, or why the wait ended."""
        event = event or {}
        if event.get("status") == "success":
            return event.get("balance")
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(str(event.get("message")))
        raise AirflowException(f"Checking the Clipia balance failed: {event.get('message')}")

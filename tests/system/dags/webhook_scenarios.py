"""DAGs the webhook system tests and the latency benchmark run on a real Airflow deployment.

Each run names its own ``clipia`` connection in ``conf`` (one sandbox API key per test, so
webhook fault rules and call counts stay per test). The operator is the provider's, with two
switches a test can set in ``conf`` and a record of how it was resumed:

* ``hold_until_delivered``: defer only once the sandbox has delivered the webhook (2xx), so the
  delivery surely lands before the trigger exists;
* ``crash_after_submit``: on the first try, the task process is SIGKILLed right after the submit,
  before the ledger records the request id (the window idempotency must close): no ``finally``,
  no exit handler, no report to the API server; the supervisor sees its child die;
* XCom ``event`` and ``resumed_at``: the event ``execute_complete`` got and when it started.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from airflow.sdk import DAG, Context

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

PARAMS = {"conn_id": "clipia_default", "prompt": "a ceramic mug", "hold_until_delivered": False}


class ScenarioGenerateOperator(ClipiaGenerateOperator):
    """:class:`ClipiaGenerateOperator` with the test switches described in the module docstring."""

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        request_id = super().submit_job(context, idempotency_key)
        params = context["params"]
        if params.get("crash_after_submit") and context["ti"].try_number == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if params.get("hold_until_delivered"):
            self._wait_until_delivered(request_id)
        return request_id

    def _wait_until_delivered(self, request_id: str, timeout: float = 30.0) -> None:
        url = f"{self.hook.get_conn().base_url}/_sandbox/webhooks"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attempts = httpx.get(url, params={"request_id": request_id}).json()["attempts"]
            if any(attempt["status_code"] == 200 for attempt in attempts):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the sandbox did not deliver the webhook of {request_id} within {timeout} s")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        context["ti"].xcom_push(key="resumed_at", value=time.time())
        context["ti"].xcom_push(key="event", value=event)
        return super().execute_complete(context, event)


def generate(**kwargs: Any) -> ScenarioGenerateOperator:
    return ScenarioGenerateOperator(
        task_id="generate",
        model="nano-banana-2",
        clipia_conn_id="{{ params.conn_id }}",
        deferrable=True,
        **kwargs,
    )


# the status poll is a distant fallback here: a test asserting a push would fail if it won instead
with DAG("clipgen_webhook", schedule=None, start_date=datetime(2026, 1, 1), params=PARAMS):
    generate(
        inputs={"prompt": "{{ params.prompt }}"},
        wait_for_webhook=True,
        webhook_check_interval=4,
        webhook_fallback_poll_interval=60,
    )

# for deliveries that never count (lost, forged): the fallback poll comes soon
with DAG("clipgen_webhook_lossy", schedule=None, start_date=datetime(2026, 1, 1), params=PARAMS):
    generate(
        inputs={"prompt": "{{ params.prompt }}"},
        wait_for_webhook=True,
        webhook_check_interval=4,
        webhook_fallback_poll_interval=3,
    )

with DAG(
    "clipgen_webhook_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={**PARAMS, "fail_first_try": False, "crash_after_submit": False},
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
):
    generate(
        inputs={
            "prompt": "{{ params.prompt }}{{ ' [sandbox:fail]' if params.fail_first_try and ti.try_number == 1 else '' }}"
        },
        wait_for_webhook=True,
        webhook_check_interval=4,
        webhook_fallback_poll_interval=2,
        poll_interval=2,
    )

with DAG("clipgen_polled", schedule=None, start_date=datetime(2026, 1, 1), params=PARAMS):
    generate(inputs={"prompt": "{{ params.prompt }}"}, poll_interval=5)

"""DAGs only the production suite runs on its cluster (bundle ``production``).

* ``clipgen_worker_crash``: one webhook-mode generation whose first try, with
  ``hold_after_submit``, stops right after the submit (before the ledger records the request id
  and before it defers) and holds its Celery slot until the test SIGKILLs the worker's processes.
  A held try the test never kills fails for good after :data:`HOLD_SECONDS`, so it cannot pass.
* ``clipgen_load``: ``generations`` webhook-mode generations as one mapped task, spread over the
  connections named in ``conn_ids`` (one per API server, so deliveries split across them). Each
  result carries ``resumed_at`` and ``via`` for the latency report.

Both stamp how they were resumed: XCom ``event`` (crash DAG) or the result (load DAG).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, Context, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

#: longest a held try waits to be killed
HOLD_SECONDS = 300.0


class HoldAfterSubmitOperator(ClipiaGenerateOperator):
    """Holds try 1 between submit and defer when ``params.hold_after_submit`` is set."""

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        request_id = super().submit_job(context, idempotency_key)
        if context["params"].get("hold_after_submit") and context["ti"].try_number == 1:
            self.log.info("Holding after submitting %s until this worker is killed.", request_id)
            deadline = time.monotonic() + HOLD_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.5)
            raise AirflowFailException(
                f"held {HOLD_SECONDS:.0f} s after the submit and nobody killed the worker"
            )
        return request_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        context["ti"].xcom_push(key="event", value=event)
        return super().execute_complete(context, event)


class LoadGenerateOperator(ClipiaGenerateOperator):
    """Adds ``resumed_at`` (when ``execute_complete`` started) and ``via`` to the result."""

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        resumed_at = time.time()
        result = super().execute_complete(context, event)
        via = event.get("via") if isinstance(event, dict) else None
        return {**result, "resumed_at": resumed_at, "via": via}


with DAG(
    "clipgen_worker_crash",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"conn_id": "clipia_default", "hold_after_submit": False},
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
):
    HoldAfterSubmitOperator(
        task_id="generate",
        model="nano-banana-2",
        inputs={"prompt": "a ceramic mug on a worker that crashes"},
        clipia_conn_id="{{ params.conn_id }}",
        deferrable=True,
        wait_for_webhook=True,
        webhook_check_interval=4,
        webhook_fallback_poll_interval=2,
        poll_interval=2,
    )


with DAG(
    "clipgen_load",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"generations": 50, "conn_ids": ["clipia_default"]},
    max_active_tasks=32,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=5)},
):

    @task
    def plan(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One entry per generation: its prompt and its connection (round-robin)."""
        assert params is not None
        conn_ids = list(params["conn_ids"])
        return [
            {"clipia_conn_id": conn_ids[i % len(conn_ids)], "inputs": {"prompt": f"load test mug #{i}"}}
            for i in range(int(params["generations"]))
        ]

    LoadGenerateOperator.partial(
        task_id="generate",
        model="nano-banana-2",
        deferrable=True,
        wait_for_webhook=True,
    ).expand_kwargs(plan())

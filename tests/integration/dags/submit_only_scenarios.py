"""Scenario DAGs of submit-only generate tasks and of the default bound of a wait."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
SUBMITTED = Asset("submit_only_scenario_requests")


def scenario(dag_id: str) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, default_args=DEFAULTS)


with scenario("submit_only_clipia"):
    ClipiaGenerateOperator(
        task_id="submit",
        model="nano-banana-2",
        inputs={"prompt": "a mug, submitted only"},
        wait_for_completion=False,
        outlets=[SUBMITTED],
        retries=1,
    )

with scenario("submit_only_clipwise"):
    ClipwiseGenerateOperator(
        task_id="submit", format="smart", prompt="A launch video", wait_for_completion=False, retries=1
    )

with scenario("wait_bound_default"):
    # no wait_timeout, no execution_timeout: [clipgen] default_wait_timeout bounds the wait
    ClipiaGenerateOperator(
        task_id="slow", model="nano-banana-2", inputs={"prompt": "slow"}, deferrable=True, poll_interval=0.2
    )

with scenario("wait_bound_unbounded"):
    ClipiaGenerateOperator(
        task_id="patient",
        model="nano-banana-2",
        inputs={"prompt": "worth the wait"},
        wait_timeout=float("inf"),
        deferrable=True,
        poll_interval=0.2,
    )

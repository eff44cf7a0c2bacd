"""Scenario DAGs of the job sensors: submit here (``wait_for_completion=False``), sense there.

Each DAG submits its own job first, so the sensors meet it still running (the deferred path) or
already ended (the first-poke path). Output folders come from the run's conf (``{{ params.out }}``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
SENSE: dict[str, Any] = {"poke_interval": 0.2, "timeout": 60}
REQUEST_ID = "{{ ti.xcom_pull(task_ids='submit', key='request_id') }}"
GENERATION_ID = "{{ ti.xcom_pull(task_ids='submit', key='generation_id') }}"
SENSED_IMAGES = Asset("sensor_scenario_images")
SENSED_VIDEOS = Asset("sensor_scenario_videos")


def scenario(dag_id: str) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, default_args=DEFAULTS)


def submit_image(prompt: str, task_id: str = "submit") -> ClipiaGenerateOperator:
    """A Clipia image request submitted without waiting; ``request_id`` in its XCom."""
    return ClipiaGenerateOperator(
        task_id=task_id, model="nano-banana-2", inputs={"prompt": prompt}, wait_for_completion=False
    )


with scenario("sensors_clipia_keep_media"):
    deferred = ClipiaRequestSensor(
        task_id="deferred",
        request_id=REQUEST_ID,
        output_path="{{ params.out }}/deferred",
        outlets=[SENSED_IMAGES],
        deferrable=True,
        **SENSE,
    )
    poke = ClipiaRequestSensor(
        task_id="poke", request_id=REQUEST_ID, output_path="{{ params.out }}/poke", mode="poke", **SENSE
    )
    submit_image("a mug on a shelf") >> deferred >> poke

with scenario("sensors_clipwise_keep_media"):
    start = ClipwiseGenerateOperator(
        task_id="submit", format="smart", prompt="A launch video", wait_for_completion=False
    )
    deferred_generation = ClipwiseGenerationSensor(
        task_id="deferred",
        generation_id=GENERATION_ID,
        output_path="{{ params.out }}/deferred",
        outlets=[SENSED_VIDEOS],
        deferrable=True,
        **SENSE,
    )
    poke_generation = ClipwiseGenerationSensor(
        task_id="poke", generation_id=GENERATION_ID, output_path="{{ params.out }}/poke", mode="poke", **SENSE
    )
    start >> deferred_generation >> poke_generation

with scenario("sensors_soft_fail"):
    # the request fails while the first sensor is deferred; the others meet it already failed
    doomed = submit_image("a mug [sandbox:fail]")
    while_running = ClipiaRequestSensor(
        task_id="soft_while_deferred", request_id=REQUEST_ID, soft_fail=True, deferrable=True, **SENSE
    )
    first_poke = ClipiaRequestSensor(
        task_id="soft_on_first_poke",
        request_id=REQUEST_ID,
        soft_fail=True,
        deferrable=True,
        trigger_rule="all_done",
        **SENSE,
    )
    hard = ClipiaRequestSensor(
        task_id="hard", request_id=REQUEST_ID, deferrable=True, retries=2, trigger_rule="all_done", **SENSE
    )
    doomed >> while_running >> first_poke >> hard

with scenario("sensors_timeout"):
    slow = submit_image("a slow mug")
    soft = ClipiaRequestSensor(
        task_id="soft", request_id=REQUEST_ID, soft_fail=True, deferrable=True, poke_interval=0.2, timeout=1
    )
    hard = ClipiaRequestSensor(
        task_id="hard",
        request_id=REQUEST_ID,
        deferrable=True,
        poke_interval=0.2,
        timeout=1,
        retries=2,
        trigger_rule="all_done",
    )
    slow >> soft >> hard

with scenario("sensors_backoff"):
    # two requests of the same length, each sensed from its submit on: steadily, then with backoff
    steady_submit = submit_image("steady", task_id="submit_steady")
    steady = ClipiaRequestSensor(
        task_id="steady",
        request_id="{{ ti.xcom_pull(task_ids='submit_steady', key='request_id') }}",
        deferrable=True,
        poll_schedule="fixed",
        **SENSE,
    )
    backoff_submit = submit_image("backoff", task_id="submit_backoff")
    backoff = ClipiaRequestSensor(
        task_id="backoff",
        request_id="{{ ti.xcom_pull(task_ids='submit_backoff', key='request_id') }}",
        deferrable=True,
        exponential_backoff=True,
        **SENSE,
    )
    steady_submit >> steady >> backoff_submit >> backoff

"""Clipia: a nightly batch of product shots with a spending cap, stored files and an Asset.

Three images are generated as mapped tasks, each capped at ``max_credits`` (checked against an
estimate before anything is sent). Every file is copied under a dated folder, and each finished
generation emits an event on the ``clipgen_product_shots`` Asset, which schedules the
``clipia_publish_product_shots`` DAG below. A last task totals what the run cost.

Run it offline against the local sandbox with the README's first command.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.cost import ClipgenRunCostOperator
from clipgen_provider.sensors.clipia_balance import ClipiaBalanceSensor

#: where the files land; point it at s3://… or gs://… in production
MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")

# --8<-- [start:howto_clipia_assets]
PRODUCT_SHOTS = Asset("clipgen_product_shots")

with DAG(
    dag_id="clipia_budgeted_batch",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "example"],
    doc_md=__doc__,
) as dag:
    enough_credits = ClipiaBalanceSensor(task_id="enough_credits", min_credits=50)

    # --8<-- [start:howto_clipia_budget]
    shots = ClipiaGenerateOperator.partial(
        task_id="product_shot",
        model="nano-banana-2",
        max_credits=10,
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}",
        outlets=[PRODUCT_SHOTS],
        deferrable=True,
        poll_interval=1,
    ).expand(
        inputs=[
            {"prompt": "A ceramic mug on a marble counter, soft morning light"},
            {"prompt": "A ceramic mug in a cozy reading nook, warm lamp light"},
            {"prompt": "A ceramic mug on a picnic blanket, bright daylight"},
        ]
    )
    # --8<-- [end:howto_clipia_budget]

    enough_credits >> shots >> ClipgenRunCostOperator(task_id="run_cost", trigger_rule="all_done")

with DAG(
    dag_id="clipia_publish_product_shots",
    schedule=[PRODUCT_SHOTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "example"],
):

    @task(inlets=[PRODUCT_SHOTS])
    def publish(*, triggering_asset_events: Any = None) -> list[str]:
        """List the files the triggering generations stored (a real DAG would publish them)."""
        stored = [
            path
            for events in (triggering_asset_events or {}).values()
            for event in events
            for path in event.extra.get("stored_paths", [])
        ]
        print(f"New product shots: {stored}")
        return stored

    publish()
# --8<-- [end:howto_clipia_assets]

"""The generations whose media the browser suite looks at: two images and a video (side by side, so
the run takes as long as its longest task), each kept under the run's ``conf["out"]`` folder
(``output_path``), so the Media tab shows them from the stored copy through the plugin's
authenticated media route.

Sandbox jobs finish in about a second, so a task can resume from its deferral before a busy
scheduler has handled the executor's report of the deferring process; Airflow then fails the
running try. A retry takes the finished job from the ledger (nothing is paid twice), so the suite
tests the UI rather than that race."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

with DAG(
    "browser_media",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "browser-test"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
):
    ClipiaGenerateOperator(
        task_id="product_shots",
        model="nano-banana-2",
        inputs={"prompt": "A teal ceramic mug on a walnut shelf, product photo", "num_images": 2},
        output_path="{{ dag_run.conf['out'] }}",
        deferrable=True,
        poll_interval=0.5,
    )
    ClipiaGenerateOperator(
        task_id="turntable_clip",
        model="seedance-2-fast-t2v",
        inputs={"prompt": "The teal mug turning slowly on a turntable", "duration": 4},
        output_path="{{ dag_run.conf['out'] }}",
        deferrable=True,
        poll_interval=0.5,
    )

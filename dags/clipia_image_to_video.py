"""Clipia: generate a product image, then animate it into a short video.

Two paid generations chained through XCom: the video step reads the image's URL from the image
step's result. Both steps defer while the media renders, so no worker slot is held, and both carry
an idempotency key tied to their task instance, so a retry never pays twice.

Run it offline against the local sandbox with the README's first command.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

with DAG(
    dag_id="clipia_image_to_video",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "example"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_operator_clipia_generate]
    generate_image = ClipiaGenerateOperator(
        task_id="generate_image",
        model="nano-banana-2",
        inputs={
            # run_after, not ds: a run started from the UI or the REST API has no logical date
            "prompt": "A ceramic coffee mug on a sunlit oak table, product photo, "
            "{{ dag_run.run_after | ds }}",
            "aspect_ratio": "16:9",
        },
        deferrable=True,
        poll_interval=1,
    )

    animate_image = ClipiaGenerateOperator(
        task_id="animate_image",
        model="seedance-2-fast-i2v",
        inputs={
            "prompt": "Slow camera orbit around the mug, steam rising",
            "image_url": "{{ ti.xcom_pull(task_ids='generate_image')['media_urls'][0] }}",
            "duration": 4,
        },
        deferrable=True,
        poll_interval=1,
    )
    # --8<-- [end:howto_operator_clipia_generate]

    generate_image >> animate_image

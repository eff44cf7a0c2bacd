"""A render on a bad network day, still paid for once.

What the user builds: nothing special — a product shot from Clipia and a short video from Clipwise,
with ordinary Airflow retries. Meanwhile the APIs misbehave (the test injects sandbox faults):
answers to the submits are lost or the connection drops, status reads fail, a rate limit asks to
wait, and the Clipia outage outlasts the hook's own retries so the task fails once and Airflow
retries it. The idempotency key and the task's ledger make every resubmit land on the same job.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_flaky_network",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator(
        task_id="product_shot",
        model="nano-banana-2",
        inputs={"prompt": "A copper kettle on a gas stove, morning light"},
        output_path=MEDIA_ROOT + "/flaky",
        deferrable=True,
        poll_interval=POLL,
    )

    ClipwiseGenerateOperator(
        task_id="product_video",
        format="smart",
        prompt="A copper kettle whistling, 10 second loop",
        output_path=MEDIA_ROOT + "/flaky",
        deferrable=True,
        poll_interval=POLL,
    )

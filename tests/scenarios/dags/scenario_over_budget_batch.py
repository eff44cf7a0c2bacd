"""A batch with a spending cap per item, where one item is over it.

What the user builds: three teaser videos as one mapped ``ClipiaGenerateOperator`` with
``max_credits=60`` (each item estimated before anything is sent) and Airflow retries for the
network's bad days. The 12-second 720p teaser is estimated at 180 credits: that item fails at once,
without a submit and without retrying, while the other two render, are charged and are stored.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_over_budget_batch",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=1)},
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator.partial(
        task_id="teasers",
        model="seedance-2-fast-t2v",
        max_credits=60,
        output_path=MEDIA_ROOT + "/teasers/{{ dag_run.run_after | ds }}",
        deferrable=True,
        poll_interval=POLL,
    ).expand(
        inputs=[
            {"prompt": "Teaser: the new trail shoe, close-up", "duration": 4, "resolution": "480p"},
            {"prompt": "Teaser: the new trail shoe on a ridge run", "duration": 12, "resolution": "720p"},
            {"prompt": "Teaser: the new trail shoe in the mud", "duration": 5, "resolution": "480p"},
        ]
    )

"""Fan out over both APIs: one task per item with ``partial().expand()``.

What the user builds: a catalogue refresh. Three product shots in three aspect ratios come from
Clipia's ``nano-banana-2`` (one mapped ``ClipiaGenerateOperator`` instance per ratio), and two
short explainer videos from Clipwise's ``smart`` format (one mapped ``ClipwiseGenerateOperator``
instance per prompt). Every file lands under a dated folder of ``CLIPGEN_MEDIA_ROOT``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2
RATIOS = ["1:1", "16:9", "9:16"]

with DAG(
    dag_id="scenario_fanout_both_apis",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator.partial(
        task_id="product_shots",
        model="nano-banana-2",
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/shots",
        deferrable=True,
        poll_interval=POLL,
    ).expand(
        inputs=[
            {"prompt": "A linen tote bag on a white studio floor", "aspect_ratio": ratio} for ratio in RATIOS
        ]
    )

    ClipwiseGenerateOperator.partial(
        task_id="explainers",
        format="smart",
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/explainers",
        deferrable=True,
        poll_interval=POLL,
    ).expand(
        prompt=[
            "Why a linen tote outlasts ten plastic bags, in 20 seconds",
            "Three ways to style a linen tote for work",
        ]
    )

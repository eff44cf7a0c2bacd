"""From product names to UGC videos, handing stored files from Clipia to Clipwise on a local disk.

What the user builds (the pipeline of issue 13, from the docs alone): a daily DAG reads three
product names, makes two image variants of each with a mapped ``ClipiaGenerateOperator``
(``max_credits`` per item, files under a dated ``output_path``), picks the first stored image of
each product, renders one Clipwise UGC video per product with a mapped
``ClipwiseGenerateOperator`` whose ``product_images`` is that stored file, and ends with
``ClipgenRunCostOperator`` (``trigger_rule="all_done"``) reporting what the run cost.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.operators.cost import ClipgenRunCostOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_handoff_local",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):

    @task
    def read_products() -> list[str]:
        """Today's products (a real DAG reads them from a file or a table)."""
        return ["ceramic mug", "linen tote", "bamboo toothbrush"]

    @task
    def shot_inputs(products: Any) -> list[dict[str, Any]]:
        """Two image variants per product, one Clipia job each."""
        return [{"prompt": f"Studio product photo of a {name}", "num_images": 2} for name in products]

    products = read_products()
    shots = ClipiaGenerateOperator.partial(
        task_id="product_shots",
        model="nano-banana-2",
        max_credits=10,
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/shots",
        deferrable=True,
        poll_interval=POLL,
    ).expand(inputs=shot_inputs(products))

    @task
    def video_inputs(products: Any, shots: Any) -> list[dict[str, Any]]:
        """One UGC video per product, showing the first stored image of its shots."""
        return [
            {
                "script": f"I have used this {name} every day for a month, and here is why.",
                "product_images": [shot["stored_paths"][0]],
                "avatar": "res_avatar_ava",
                "voice": "res_voice_emma_en",
            }
            for name, shot in zip(products, shots, strict=True)
        ]

    videos = ClipwiseGenerateOperator.partial(
        task_id="ugc_videos",
        format="ugc_video",
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/videos",
        deferrable=True,
        poll_interval=POLL,
    ).expand(inputs=video_inputs(products, shots.output))

    [shots, videos] >> ClipgenRunCostOperator(task_id="run_cost", trigger_rule="all_done")

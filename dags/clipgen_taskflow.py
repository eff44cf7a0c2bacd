"""TaskFlow: a daily content pipeline written with ``@task.clipia`` and ``@task.clipwise``.

Every day: a ``@task`` lists the day's products; ``@task.clipia`` makes one studio shot of each
(mapped over the products, each capped by ``max_credits``, the files stored under a dated
folder); ``@task.clipwise`` renders one UGC video per product showing its stored shot; a last task
totals what the run cost. Each decorated function returns only the inputs of its generation: the
task submits once (an idempotency key tied to the task instance), defers while the media renders,
and returns the same result as ``ClipiaGenerateOperator`` / ``ClipwiseGenerateOperator``.

Run it offline against the local sandbox with the README's first command (``make demo``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from clipgen_provider.operators.cost import ClipgenRunCostOperator

#: where the files land; point it at s3://… or gs://… in production
MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL_INTERVAL = 1.0

with DAG(
    dag_id="clipgen_taskflow",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "clipwise", "taskflow", "example"],
    doc_md=__doc__,
):

    @task
    def todays_products() -> list[str]:
        """The day's products (a real DAG reads them from a file or a table)."""
        return ["ceramic mug", "linen tote", "bamboo toothbrush"]

    # --8<-- [start:howto_decorator_clipia]
    @task.clipia(
        model="nano-banana-2",
        max_credits=10,
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/shots",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    def product_shot(product: str, style: str) -> dict[str, Any]:
        """One studio shot of ``product``: the function returns the model's inputs."""
        return {"prompt": f"Studio product photo of a {product}, {style}"}
        # --8<-- [end:howto_decorator_clipia]

    # --8<-- [start:howto_decorator_clipwise]
    @task.clipwise(
        format="ugc_video",
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}/videos",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    def ugc_video(product_and_shot: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        """A UGC video of one product, showing the shot ``@task.clipia`` stored for it."""
        product, shot = product_and_shot
        return {
            "script": f"I have used this {product} every day for a month, and here is why.",
            "product_images": shot["stored_paths"],
            "avatar": "res_avatar_ava",
            "voice": "res_voice_emma_en",
        }
        # --8<-- [end:howto_decorator_clipwise]

    # --8<-- [start:howto_decorator_expand]
    products = todays_products()
    shots = product_shot.partial(style="soft daylight, white background").expand(product=products)
    videos = ugc_video.expand(product_and_shot=products.zip(shots))
    [shots, videos] >> ClipgenRunCostOperator(task_id="run_cost", trigger_rule="all_done")
    # --8<-- [end:howto_decorator_expand]

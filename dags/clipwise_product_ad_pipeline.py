"""Clipwise: a daily product-ad pipeline, from a product photo to a static ad and a UGC video.

Every day: upload the product photo shipped next to this DAG (``assets/serum.png``), create the
product from it, render a static Instagram ad and a UGC talking-head video for it (both paid
generations, deferred while they render, each with an idempotency key tied to its task instance so
a retry never pays twice), and collect the media URLs in one result. Teardown tasks then delete the
day's product and upload; the rendered media stay in the account's generated media.

The UGC video uses seeded catalog assets the ``ugc_video`` format accepts (presenter, voice,
background, pose). On the real API, pick yours with
``ClipwiseHook().list_resources("avatars", video_format="ugc_video")``.

Run it offline against the local sandbox with the README's first command (``make demo``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from clipgen_provider.operators.clipwise import (
    ClipwiseCreateProductOperator,
    ClipwiseDeleteOperator,
    ClipwiseGenerateOperator,
    ClipwiseUploadOperator,
)

PRODUCT_IMAGE = Path(__file__).parent / "assets" / "serum.png"
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real API
POLL_INTERVAL = 1.0
UPLOAD_ID = "{{ ti.xcom_pull(task_ids='upload_product_image') }}"
PRODUCT_ID = "{{ ti.xcom_pull(task_ids='create_product')['product_id'] }}"

with DAG(
    dag_id="clipwise_product_ad_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["clipgen", "clipwise", "example"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_operator_clipwise_upload]
    upload_product_image = ClipwiseUploadOperator(
        task_id="upload_product_image",
        file_path=str(PRODUCT_IMAGE),
        purpose="image",
        metadata={"title": "Vitamin C Serum, front ({{ dag_run.run_after | ds }})"},
    )
    # --8<-- [end:howto_operator_clipwise_upload]

    # --8<-- [start:howto_operator_clipwise_create_product]
    create_product = ClipwiseCreateProductOperator(
        task_id="create_product",
        name="Vitamin C Serum",
        images=[UPLOAD_ID],
        product_type="skincare",
        description="Brightening vitamin C serum, 30 ml",
    )
    # --8<-- [end:howto_operator_clipwise_create_product]

    # --8<-- [start:howto_operator_clipwise_generate]
    render_static_ad = ClipwiseGenerateOperator(
        task_id="render_static_ad",
        format="static_ad",
        inputs={"product_id": PRODUCT_ID, "ad_format": "instagram_square", "variations": 2},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    render_ugc_video = ClipwiseGenerateOperator(
        task_id="render_ugc_video",
        format="ugc_video",
        script="I tried this serum for seven days and here is what changed...",
        inputs={
            "product_images": [UPLOAD_ID],
            "product_type": "skincare",
            "avatar": "res_avatar_ava",
            "voice": "res_voice_emma_en",
            "background_image": "res_bg_bathroom_counter",
            "pose": "res_pose_hand_hold",
        },
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    # --8<-- [end:howto_operator_clipwise_generate]

    # --8<-- [start:howto_clipwise_collect_and_clean_up]
    @task
    def collect_outputs(product: Any, static_ad: Any, ugc_video: Any) -> dict[str, Any]:
        """One record of the day's creatives, for a publishing step or a report."""
        return {
            "product_id": product["product_id"],
            "static_ad_urls": static_ad["media_urls"],
            "ugc_video_url": ugc_video["video_url"],
            "generation_ids": [static_ad["generation_id"], ugc_video["generation_id"]],
        }

    # --8<-- [start:howto_operator_clipwise_delete]
    delete_product = ClipwiseDeleteOperator(
        task_id="delete_product", resource_type="products", asset_id=PRODUCT_ID
    )
    delete_upload = ClipwiseDeleteOperator(
        task_id="delete_upload", resource_type="uploads", asset_id=UPLOAD_ID
    )
    # --8<-- [end:howto_operator_clipwise_delete]

    upload_product_image >> create_product >> [render_static_ad, render_ugc_video]
    creatives = collect_outputs(create_product.output, render_static_ad.output, render_ugc_video.output)
    # clean-up runs once the renders are done, whatever their outcome, if the asset was created
    creatives >> delete_product.as_teardown(setups=create_product)
    delete_product >> delete_upload.as_teardown(setups=upload_product_image)
    # --8<-- [end:howto_clipwise_collect_and_clean_up]

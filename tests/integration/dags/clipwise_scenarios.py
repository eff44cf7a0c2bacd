"""Scenario DAGs the Clipwise integration tests run against the sandbox (one behaviour each).

Local paths and ids come from the run's conf (``{{ params.x }}``), so each test writes its own files.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

from clipgen_provider.operators.clipwise import (
    ClipwiseCloneVoiceOperator,
    ClipwiseCreateProductOperator,
    ClipwiseDeleteOperator,
    ClipwiseExtractUrlOperator,
    ClipwiseGenerateOperator,
    ClipwiseGenerateResourceOperator,
    ClipwiseUploadOperator,
)
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}
VOICE = "res_voice_emma_en"


def scenario(dag_id: str) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, default_args=DEFAULTS)


with scenario("clipwise_speech_blocking"):
    ClipwiseGenerateOperator(
        task_id="speak",
        format="text_to_audio",
        script="Welcome to the show",
        inputs={"voice": VOICE},
        deferrable=False,
        poll_interval=0.2,
    )

with scenario("clipwise_smart"):
    ClipwiseGenerateOperator(task_id="smart", format="smart", prompt="A launch video", retries=2, **FAST)

with scenario("clipwise_missing_inputs"):
    ClipwiseGenerateOperator(
        task_id="static_ad", format="static_ad", inputs={"variations": 2}, retries=2, **FAST
    )

with scenario("clipwise_unknown_format"):
    ClipwiseGenerateOperator(task_id="typo", format="smrat", prompt="x", retries=2, **FAST)

with scenario("clipwise_local_video"):
    ClipwiseGenerateOperator(
        task_id="transcribe",
        format="video_to_text",
        inputs={"video": "{{ params.video }}"},
        retries=2,
        **FAST,
    )

with scenario("clipwise_wrong_asset"):
    ClipwiseGenerateOperator(
        task_id="ugc",
        format="ugc_video",
        script="Hi there",
        inputs={"avatar": "res_avatar_kai_dancer"},
        retries=2,
        **FAST,
    )

with scenario("clipwise_failed_generation"):
    ClipwiseGenerateOperator(
        task_id="doomed",
        format="text_to_audio",
        script="hello [sandbox:fail]",
        inputs={"voice": VOICE},
        retries=1,
        **FAST,
    )

with scenario("clipwise_wait_timeout"):
    ClipwiseGenerateOperator(task_id="slow", format="smart", prompt="slow", wait_timeout=1, **FAST)

with scenario("clipwise_extract_url"):
    ClipwiseExtractUrlOperator(task_id="social", url="https://www.tiktok.com/@clipwise/video/42", **FAST)
    ClipwiseExtractUrlOperator(task_id="direct", url="https://cdn.example.com/clip.mp4", **FAST)
    ClipwiseExtractUrlOperator(task_id="broken", url="https://www.tiktok.com/@clipwise/video/fail", **FAST)

with scenario("clipwise_product_retry"):
    ClipwiseCreateProductOperator(
        task_id="product", name="Serum", images=["{{ params.image }}"], product_type="skincare", retries=1
    )

with scenario("clipwise_assets"):
    upload = ClipwiseUploadOperator(task_id="upload", file_path="{{ params.image }}", purpose="image")
    product_image = ClipwiseUploadOperator(
        task_id="upload_product_image",
        file_path="{{ params.image }}",
        resource_type="product_images",
        metadata={"product_type": "skincare", "name": "Serum front"},
    )
    product = ClipwiseCreateProductOperator(
        task_id="product",
        name="Serum",
        images=["{{ params.image }}", "{{ ti.xcom_pull(task_ids='upload_product_image') }}"],
        product_type="skincare",
        description="30 ml",
    )
    avatar = ClipwiseGenerateResourceOperator(
        task_id="avatar",
        resource_type="avatars",
        prompt="Female presenter in a studio",
        metadata={"video_format": "ugc_video"},
    )
    voice = ClipwiseCloneVoiceOperator(
        task_id="voice", file_path="{{ params.voice }}", name="My voice", language="en"
    )
    speak = ClipwiseGenerateOperator(
        task_id="speak",
        format="text_to_audio",
        script="Hello in my own voice",
        inputs={"voice": "{{ ti.xcom_pull(task_ids='voice')['voice_id'] }}"},
        **FAST,
    )
    delete_product = ClipwiseDeleteOperator(
        task_id="delete_product",
        resource_type="products",
        asset_id="{{ ti.xcom_pull(task_ids='product')['product_id'] }}",
    )
    delete_again = ClipwiseDeleteOperator(
        task_id="delete_again",
        resource_type="products",
        asset_id="{{ ti.xcom_pull(task_ids='product')['product_id'] }}",
    )
    delete_upload = ClipwiseDeleteOperator(
        task_id="delete_upload", resource_type="uploads", asset_id="{{ ti.xcom_pull(task_ids='upload') }}"
    )
    delete_avatar = ClipwiseDeleteOperator(
        task_id="delete_avatar",
        resource_type="avatars",
        asset_id="{{ ti.xcom_pull(task_ids='avatar')['resource_id'] }}",
    )
    # a shared catalog asset cannot be deleted: a permanent error, no retries burned
    ClipwiseDeleteOperator(
        task_id="delete_catalog", resource_type="avatars", asset_id="res_avatar_ava", retries=2
    )
    [upload, product_image] >> product >> delete_product >> delete_again >> delete_upload
    voice >> speak
    avatar >> delete_avatar

with scenario("clipwise_sensors"):
    ClipwiseGenerationSensor(
        task_id="wait",
        generation_id="{{ params.generation_id }}",
        deferrable=True,
        poke_interval=0.2,
        timeout=30,
    )
    ClipwiseGenerationSensor(
        task_id="poke", generation_id="{{ params.generation_id }}", mode="poke", poke_interval=0.2, timeout=30
    )

STORED_MEDIA = Asset("clipwise_scenario_media")

with scenario("clipwise_stored_outputs"):
    ClipwiseGenerateOperator(
        task_id="render",
        format="smart",
        prompt="A launch video",
        output_path="{{ params.out }}/{{ ds }}",
        outlets=[STORED_MEDIA],
        **FAST,
    )

with DAG("clipwise_media_consumer", schedule=[STORED_MEDIA], start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="publish")

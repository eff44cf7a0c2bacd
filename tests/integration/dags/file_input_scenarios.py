"""Scenario DAGs of hand-offs: what one task returns is what the next one takes, as it is.

Stores and files come from the run's conf (``{{ params.x }}``), so each test brings its own. The
hand-off DAG renders templates as native objects, so ``stored_paths`` arrives as the list it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator, ClipwiseUploadOperator

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}
STORED_PATHS = "{{ ti.xcom_pull(task_ids='image')['stored_paths'] }}"
FIRST_MEDIA_URL = "{{ ti.xcom_pull(task_ids='image')['media_urls'][0] }}"
I2V = "seedance-2-fast-i2v"


def scenario(dag_id: str, **kwargs: Any) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(
        dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        default_args=DEFAULTS,
        **kwargs,
    )


with scenario("file_inputs_handoff", render_template_as_native_obj=True):
    image = ClipiaGenerateOperator(
        task_id="image",
        model="nano-banana-2",
        inputs={"prompt": "a mug"},
        output_path="{{ params.out }}",
        **FAST,
    )
    handed_on = [
        ClipwiseGenerateOperator(
            task_id="animate_stored",
            format="image_to_video",
            prompt="Slow push-in",
            inputs={"image": STORED_PATHS},
            retries=2,
            **FAST,
        ),
        ClipwiseGenerateOperator(
            task_id="animate_media_url",
            format="image_to_video",
            prompt="Slow push-in",
            inputs={"image": FIRST_MEDIA_URL},
            retries=2,
            **FAST,
        ),
        ClipwiseUploadOperator(task_id="upload_stored", file_path=STORED_PATHS, retries=2),
        ClipiaGenerateOperator(
            task_id="i2v",
            model=I2V,
            inputs={"image_url": STORED_PATHS, "duration": 4},
            max_credits=1000,
            retries=2,
            **FAST,
        ),
    ]
    image >> handed_on

with scenario("file_inputs_refused"):
    ClipwiseGenerateOperator(
        task_id="animate_missing",
        format="image_to_video",
        prompt="Slow push-in",
        inputs={"image": "{{ params.missing }}"},
        retries=2,
        **FAST,
    )
    ClipwiseUploadOperator(task_id="upload_not_a_file", file_path="{{ params.not_a_file }}", retries=2)
    ClipiaGenerateOperator(
        task_id="i2v_local",
        model=I2V,
        inputs={"image_url": "{{ params.local }}"},
        max_credits=1000,
        retries=2,
        **FAST,
    )
    ClipiaGenerateOperator(
        task_id="i2v_unsignable",
        model=I2V,
        inputs={"image_url": "{{ params.unsignable }}"},
        max_credits=1000,
        retries=2,
        **FAST,
    )

with scenario("file_inputs_signed_resubmit"):
    ClipiaGenerateOperator(
        task_id="i2v", model=I2V, inputs={"image_url": "{{ params.image }}"}, retries=1, **FAST
    )

with scenario("file_inputs_handoff_xcomarg"):  # no native rendering: the XComArgs carry the lists
    images = ClipiaGenerateOperator.partial(
        task_id="images", model="nano-banana-2", output_path="{{ params.out }}", **FAST
    ).expand(inputs=[{"prompt": "a mug"}, {"prompt": "a teapot"}])
    ClipwiseUploadOperator.partial(task_id="upload_each", retries=2).expand(
        file_path=images.output.map(lambda result: result["stored_paths"])  # Airflow maps return values only
    )
    one = ClipiaGenerateOperator(
        task_id="one",
        model="nano-banana-2",
        inputs={"prompt": "a lamp"},
        output_path="{{ params.out }}",
        **FAST,
    )
    ClipwiseGenerateOperator(
        task_id="animate",
        format="image_to_video",
        prompt="Slow push-in",
        inputs={"image": one.output["stored_paths"]},  # type: ignore[index]  # Airflow types .output as XComArg
        retries=2,
        **FAST,
    )

"""Clipia → Clipwise and Clipia → Clipia through files kept in S3.

What the user builds: the team keeps every generated file in an S3 bucket. A product shot from
Clipia is stored there (``output_path`` an ``s3://`` URL on the ``aws_default`` connection, the
form of Airflow's object-storage tutorial), then handed on as its ``stored_paths``, unchanged (the
DAG renders templates as native objects, so the pulled list stays a list):

- to a Clipwise UGC video as its ``product_images`` (the provider streams the S3 object into the
  upload) and to Clipwise's ``image_to_video`` tool as its ``image``; both videos are stored back
  in the bucket;
- to Clipia's ``seedance-2-fast-i2v`` as its ``image_url`` (Clipia fetches inputs itself, so the
  provider gives it a signed URL of the object).

Needs the Amazon provider with s3fs, and an ``aws_default`` connection to the bucket's endpoint.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

BUCKET = os.environ.get("CLIPGEN_S3_BUCKET", "clipgen-media")
MEDIA = f"s3://aws_default@{BUCKET}/clipgen/{{{{ dag_run.run_after | ds }}}}"
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2
#: the shot's ``stored_paths`` as they are: a list (of one), kept a list by native rendering
STORED = "{{ ti.xcom_pull(task_ids='product_shot')['stored_paths'] }}"

with DAG(
    dag_id="scenario_handoff_s3",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    product_shot = ClipiaGenerateOperator(
        task_id="product_shot",
        model="nano-banana-2",
        inputs={"prompt": "A glass bottle of cold brew on a slate board", "aspect_ratio": "1:1"},
        output_path=MEDIA + "/shots",
        deferrable=True,
        poll_interval=POLL,
    )

    ugc_video = ClipwiseGenerateOperator(
        task_id="ugc_video",
        format="ugc_video",
        script="This cold brew is smooth enough to drink black. Here is my morning routine.",
        inputs={"product_images": STORED, "avatar": "res_avatar_leo", "voice": "res_voice_lucas_en"},
        output_path=MEDIA + "/videos",
        deferrable=True,
        poll_interval=POLL,
    )

    product_clip = ClipwiseGenerateOperator(
        task_id="product_clip",
        format="image_to_video",
        prompt="Slow push-in on the bottle, condensation running down the glass",
        inputs={"image": STORED},
        output_path=MEDIA + "/videos",
        deferrable=True,
        poll_interval=POLL,
    )

    animated_shot = ClipiaGenerateOperator(
        task_id="animated_shot",
        model="seedance-2-fast-i2v",
        inputs={
            "image_url": STORED,
            "prompt": "The camera circles the bottle",
            "duration": 4,
            "resolution": "480p",
        },
        output_path=MEDIA + "/videos",
        deferrable=True,
        poll_interval=POLL,
    )

    product_shot >> [ugc_video, product_clip, animated_shot]

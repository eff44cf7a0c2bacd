"""Sense there: wait for renders started elsewhere and keep their media.

What the user builds: a collector DAG triggered with the job ids in its conf
(``{"request_id": ..., "banner_request_id": ..., "generation_id": ...}``), e.g. by the intake DAG
``scenario_submit_renders`` or by another system. ``ClipiaRequestSensor`` and
``ClipwiseGenerationSensor`` wait in the triggerer and copy the media into ``output_path``, as the
generate operators would have; they never submit or pay for anything themselves. A job that
failed fails its sensor with the API's reason.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep longer ones against the real APIs
POKE = 0.2

with DAG(
    dag_id="scenario_collect_renders",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaRequestSensor(
        task_id="collect_poster",
        request_id="{{ dag_run.conf['request_id'] }}",
        output_path=MEDIA_ROOT + "/collected/{{ dag_run.run_after | ds }}",
        deferrable=True,
        poke_interval=POKE,
        timeout=120,
    )

    ClipiaRequestSensor(
        task_id="collect_banner",
        request_id="{{ dag_run.conf['banner_request_id'] }}",
        output_path=MEDIA_ROOT + "/collected/{{ dag_run.run_after | ds }}",
        deferrable=True,
        poke_interval=POKE,
        timeout=120,
    )

    ClipwiseGenerationSensor(
        task_id="collect_teaser",
        generation_id="{{ dag_run.conf['generation_id'] }}",
        output_path=MEDIA_ROOT + "/collected/{{ dag_run.run_after | ds }}",
        deferrable=True,
        poke_interval=POKE,
        timeout=120,
    )

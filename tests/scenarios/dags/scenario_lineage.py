"""What OpenLineage sees of a generation pipeline.

What the user builds: a poster from Clipia, stored on a local disk, handed on as a file to a
Clipwise ``image_to_video`` clip and as its media URL to Clipia's ``seedance-2-fast-i2v``; next to
it, a teaser submitted without waiting and collected by a ``ClipiaRequestSensor`` that stores its
media. With the ``openlineage`` extra installed and a transport configured, each task's COMPLETE
event names the files and URLs it read and the media it made or stored, so the lineage graph links
the poster to both clips.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.sensors.clipia import ClipiaRequestSensor

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_lineage",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    poster = ClipiaGenerateOperator(
        task_id="poster",
        model="nano-banana-2",
        inputs={"prompt": "Poster of a lighthouse in a storm, bold flat colours", "aspect_ratio": "3:4"},
        output_path=MEDIA_ROOT + "/posters",
        deferrable=True,
        poll_interval=POLL,
    )

    clip = ClipwiseGenerateOperator(
        task_id="clip",
        format="image_to_video",
        prompt="Waves crash against the lighthouse",
        inputs={"image": "{{ ti.xcom_pull(task_ids='poster')['stored_paths'] }}"},
        output_path=MEDIA_ROOT + "/clips",
        deferrable=True,
        poll_interval=POLL,
    )

    animated = ClipiaGenerateOperator(
        task_id="animated",
        model="seedance-2-fast-i2v",
        inputs={
            "image_url": "{{ ti.xcom_pull(task_ids='poster')['media_urls'][0] }}",
            "prompt": "The beam sweeps across the sea",
            "duration": 4,
            "resolution": "480p",
        },
        deferrable=False,
        poll_interval=POLL,
    )

    submit_teaser = ClipiaGenerateOperator(
        task_id="submit_teaser",
        model="nano-banana-2",
        inputs={"prompt": "Teaser still of the lighthouse at dawn"},
        wait_for_completion=False,
    )

    collect_teaser = ClipiaRequestSensor(
        task_id="collect_teaser",
        request_id="{{ ti.xcom_pull(task_ids='submit_teaser', key='request_id') }}",
        output_path=MEDIA_ROOT + "/collected",
        deferrable=True,
        poke_interval=POLL,
        timeout=120,
    )

    poster >> [clip, animated]
    submit_teaser >> collect_teaser

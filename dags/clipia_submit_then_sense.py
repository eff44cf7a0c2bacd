"""Clipia, sense there: wait for requests another DAG submitted, and keep their media.

Scheduled on the ``clipia_submitted_requests`` Asset that ``clipia_submit_only`` updates with
every submit. One mapped ``ClipiaRequestSensor`` per submitted request waits in the triggerer
(polling less and less often while the render runs), then copies the media under a dated folder,
exactly as a waiting generate task would have. Run by hand (no triggering event), it senses the
latest submitted request.

Run it offline against the local sandbox with the README's first command (it runs after
``clipia_submit_only``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, task

from clipgen_provider.sensors.clipia import ClipiaRequestSensor

#: updated by the clipia_submit_only DAG (the same name makes it the same Asset)
SUBMITTED_REQUESTS = Asset("clipia_submitted_requests")
#: where the files land; point it at s3://… or gs://… in production
MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")

with DAG(
    dag_id="clipia_submit_then_sense",
    schedule=[SUBMITTED_REQUESTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "example"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_clipia_sense_submitted]
    @task(inlets=[SUBMITTED_REQUESTS])
    def submitted_request_ids(*, triggering_asset_events: Any = None, inlet_events: Any = None) -> list[str]:
        """The requests whose submit triggered this run; the latest one when the run was started by hand."""
        events = [event for events in (triggering_asset_events or {}).values() for event in events]
        events = events or list(inlet_events[SUBMITTED_REQUESTS][-1:])
        return [event.extra["request_id"] for event in events]

    keep_media = ClipiaRequestSensor.partial(
        task_id="keep_media",
        output_path=MEDIA_ROOT + "/{{ dag_run.run_after | ds }}",
        deferrable=True,
        poke_interval=2,
        exponential_backoff=True,  # the triggerer's polls double in spacing, up to max_wait
        max_wait=60,
        timeout=6 * 3600,
    ).expand(request_id=submitted_request_ids())
    # --8<-- [end:howto_clipia_sense_submitted]

"""New media schedules the next DAG: a generate task's outlet Asset and a consumer scheduled on it.

What the user builds: ``scenario_asset_producer`` renders hero images with a mapped
``ClipiaGenerateOperator`` whose outlet is the ``clipgen_scenario_hero_images`` Asset; each
finished generation emits an Asset event whose extra carries ``request_id``, ``cost``,
``media_urls`` and ``stored_paths``. ``scenario_asset_publisher`` is scheduled on that Asset: it
reads the events and publishes (copies) every stored file into a ``published`` folder. Run by the
scheduler it reads the events that triggered it; triggered by hand it takes the latest events of
its inlet.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, ObjectStoragePath, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2
HERO_IMAGES = Asset("clipgen_scenario_hero_images")
PROMPTS = ["Hero banner: a sunlit reading nook", "Hero banner: a rainy window seat"]

with DAG(
    dag_id="scenario_asset_producer",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator.partial(
        task_id="hero_images",
        model="nano-banana-2",
        output_path=MEDIA_ROOT + "/heroes",
        outlets=[HERO_IMAGES],
        deferrable=True,
        poll_interval=POLL,
    ).expand(inputs=[{"prompt": prompt, "aspect_ratio": "21:9"} for prompt in PROMPTS])

with DAG(
    dag_id="scenario_asset_publisher",
    schedule=[HERO_IMAGES],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):

    @task(inlets=[HERO_IMAGES])
    def publish(*, triggering_asset_events: Any = None, inlet_events: Any = None) -> list[dict[str, Any]]:
        """Copy each new image to the published folder; return what was published, from where."""
        events = [event for batch in (triggering_asset_events or {}).values() for event in batch]
        if not events:  # triggered by hand: the latest event of each mapped producer instance
            events = list(inlet_events[HERO_IMAGES][-len(PROMPTS) :])
        published_dir = ObjectStoragePath(MEDIA_ROOT + "/published")
        published_dir.mkdir(parents=True, exist_ok=True)
        published = []
        for event in events:
            for stored in event.extra["stored_paths"]:
                source = ObjectStoragePath(stored)
                target = published_dir / source.name
                source.copy(target)
                published.append(
                    {"request_id": event.extra["request_id"], "source": stored, "published": str(target)}
                )
        return published

    publish()

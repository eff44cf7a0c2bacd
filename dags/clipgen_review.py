"""Clipia: generate product shots, let a person review them in Airflow, publish only what they approve.

``generate`` makes three images (a mapped task, each capped at ``max_credits``) and keeps each file
under ``media_root``. ``review`` puts them on the run's *Required Actions* page as thumbnails and
waits, holding no worker slot, for one of four answers:

* **Approve all** / **Approve selected** (tick items under *selected*): ``publish`` copies exactly
  the approved files to ``publish_to``;
* **Regenerate** with a *note*: ``regenerate`` makes the three images again with the note added to
  each prompt, each still capped at ``max_credits``;
* **Reject**: nothing else runs, and nothing more is spent. Nobody answering within a day counts
  as *Reject*.

Run it offline against the local sandbox with the README's first command, then answer the review
in the UI (Browse → Required Actions).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.review import ClipgenReviewOperator, with_review_note

#: where generated files land, and where approved ones are published; point them at s3://… in production
MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
PUBLISH_TO = os.environ.get("CLIPGEN_PUBLISH_TO", f"file://{tempfile.gettempdir()}/clipgen-published")
PROMPTS = [
    "A ceramic mug on a marble counter, soft morning light",
    "A ceramic mug in a cozy reading nook, warm lamp light",
    "A ceramic mug on a picnic blanket, bright daylight",
]
GENERATE: dict[str, Any] = {
    "model": "nano-banana-2",
    "clipia_conn_id": "{{ params.clipia_conn_id }}",
    "max_credits": 10,
    "output_path": "{{ params.media_root }}/{{ run_id }}",
    "deferrable": True,
    "poll_interval": 1,
    # safe to retry: a retry re-attaches to the job its first try submitted instead of paying again
    "retries": 2,
    "retry_delay": timedelta(seconds=5),
}

with DAG(
    dag_id="clipgen_review",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "review", "example"],
    doc_md=__doc__,
    params={
        "clipia_conn_id": Param("clipia_default", type="string", description="The Clipia connection."),
        "media_root": Param(MEDIA_ROOT, type="string", description="Where generated files are kept."),
        "publish_to": Param(PUBLISH_TO, type="string", description="Where approved files are copied."),
    },
) as dag:
    # --8<-- [start:howto_review]
    generate = ClipiaGenerateOperator.partial(task_id="generate", **GENERATE).expand(
        inputs=[{"prompt": prompt} for prompt in PROMPTS]
    )

    review = ClipgenReviewOperator(
        task_id="review",
        generations=generate,
        regenerate_to="regenerate",
        subject="Product shots of {{ dag_run.run_after | ds }}: publish which?",
        body="Check the mug is in focus and the label reads *Clipgen*.",
        response_timeout=timedelta(days=1),
        timeout_decision="Reject",
    )

    @task
    def publish(stored_paths: list[str], *, params: dict[str, Any] | None = None) -> list[str]:
        """Copy exactly the approved files to ``publish_to``; return where they went."""
        target = ObjectStoragePath((params or {})["publish_to"])  # params: filled in by Airflow
        target.mkdir(parents=True, exist_ok=True)
        published = []
        for stored in stored_paths:
            source = ObjectStoragePath(stored)
            source.copy(target / source.name)
            published.append(str(target / source.name))
        return published

    # the note of a Regenerate answer is added to every prompt; max_credits still caps each one
    regenerate = ClipiaGenerateOperator.partial(task_id="regenerate", **GENERATE).expand(
        inputs=[{"prompt": with_review_note(prompt, "review")} for prompt in PROMPTS]
    )

    approved = review.output["stored_paths"]  # type: ignore[index]  # Airflow types .output as XComArg
    review >> [publish(approved), regenerate]
    # --8<-- [end:howto_review]

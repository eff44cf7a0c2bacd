"""Clipia, submit here: start a video generation and end the task at once.

``wait_for_completion=False`` submits the request (once: the idempotency key and the task's ledger
work as for a waiting task, so a retry re-attaches instead of paying again), pushes its
``request_id`` to XCom and puts it on an event of the ``clipia_submitted_requests`` Asset. No
worker or triggerer slot waits for the render. The ``clipia_submit_then_sense`` DAG, scheduled on
that Asset, waits for the request and keeps its media.

Run it offline against the local sandbox with the README's first command.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

#: what the sensing DAG is scheduled on; each event's extra holds the request_id and the model
SUBMITTED_REQUESTS = Asset("clipia_submitted_requests")

with DAG(
    dag_id="clipia_submit_only",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "clipia", "example"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_clipia_submit_only]
    submit_video = ClipiaGenerateOperator(
        task_id="submit_video",
        model="seedance-2-fast-t2v",
        inputs={
            "prompt": "A ceramic mug turning slowly on a studio table, {{ dag_run.run_after | ds }}",
            "duration": 4,
        },
        wait_for_completion=False,  # returns {request_id, status: "submitted", model}
        outlets=[SUBMITTED_REQUESTS],  # the event's extra carries the request_id
    )
    # --8<-- [end:howto_clipia_submit_only]

"""Submit here: start paid renders and return at once, for another DAG to collect.

What the user builds: an intake DAG that only starts work (a poster, a banner the API will fail, a
teaser video). ``ClipiaGenerateOperator`` and
``ClipwiseGenerateOperator`` with ``wait_for_completion=False`` submit once (idempotency key and
ledger as usual), push the job id (``request_id`` / ``generation_id``) and finish without waiting;
``scenario_collect_renders`` waits for the jobs and keeps their media.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

with DAG(
    dag_id="scenario_submit_renders",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator(
        task_id="submit_poster",
        model="nano-banana-2",
        inputs={"prompt": "Poster of a mountain cabin at dusk, flat illustration", "aspect_ratio": "3:4"},
        wait_for_completion=False,
    )

    ClipiaGenerateOperator(
        task_id="submit_banner",
        model="nano-banana-2",
        # the sandbox fails any request whose prompt carries this marker
        inputs={"prompt": "Banner of the cabin's hot tub under the stars [sandbox:fail]"},
        wait_for_completion=False,
    )

    ClipwiseGenerateOperator(
        task_id="submit_teaser",
        format="smart",
        prompt="A 15 second teaser for a mountain cabin rental",
        wait_for_completion=False,
    )

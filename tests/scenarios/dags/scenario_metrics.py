"""Renders watched through Airflow's metrics.

What the user builds: ordinary generate tasks, with Airflow's ``[metrics]`` sending to StatsD
(the test exports ``AIRFLOW__METRICS__STATSD_ON`` and friends). A product shot that succeeds, a
banner the API fails, and a teaser video whose first try gives up on a status outage and whose
retry re-attaches to the same generation. The provider's ``clipgen.*`` metrics say what happened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_metrics",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    ClipiaGenerateOperator(
        task_id="product_shot",
        model="nano-banana-2",
        inputs={"prompt": "A ceramic mug on a walnut desk, soft window light"},
        deferrable=True,
        poll_interval=POLL,
    )

    ClipiaGenerateOperator(
        task_id="banner",
        model="nano-banana-2",
        # the sandbox fails any request whose prompt carries this marker
        inputs={"prompt": "A banner of the mug collection [sandbox:fail]"},
        deferrable=True,
        poll_interval=POLL,
    )

    ClipwiseGenerateOperator(
        task_id="teaser",
        format="smart",
        prompt="A 10 second teaser of the mug collection",
        deferrable=True,
        poll_interval=POLL,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

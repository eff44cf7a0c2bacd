"""Scenario DAG the run-cost integration test runs against the sandbox: every kind of task instance
``ClipgenRunCostOperator`` must price, in one run.

``blocked_output`` (from the run's conf) is a folder that cannot be created, so ``unstored``'s job
completes and is charged, then the task fails storing its image.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowSkipException
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.operators.cost import ClipgenRunCostOperator

FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}


@task
def not_today() -> None:
    """A step the run skips."""
    raise AirflowSkipException("nothing to publish today")


with DAG(
    "clipgen_run_cost_mixed",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retry_delay": timedelta(seconds=0)},
):
    shots = ClipiaGenerateOperator.partial(
        task_id="shots", model="nano-banana-2", max_credits=8, **FAST
    ).expand(
        inputs=[
            {"prompt": "a red mug"},  # completes: charged
            {"prompt": "a blue mug [sandbox:fail]"},  # the job FAILS: not charged
            {"prompt": "a green mug", "num_images": 4},  # estimated over max_credits: nothing sent
        ]
    )
    music = ClipiaGenerateOperator(task_id="music", model="suno-music", inputs={"prompt": "a jingle"}, **FAST)
    unstored = ClipiaGenerateOperator(
        task_id="unstored",
        model="nano-banana-2",
        inputs={"prompt": "a cup"},
        clipia_conn_id="clipia_second",
        output_path="{{ params.blocked_output }}",
        **FAST,
    )
    voice_over = ClipwiseGenerateOperator(
        task_id="voice_over",
        format="text_to_audio",
        script="Three new mugs",
        inputs={"voice": "res_voice_emma_en"},
        **FAST,
    )
    publish = EmptyOperator(task_id="publish")
    shots >> publish
    [shots, music, unstored, voice_over, publish, not_today()] >> ClipgenRunCostOperator(
        task_id="run_cost", trigger_rule="all_done", retries=2
    )

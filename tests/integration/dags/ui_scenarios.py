"""Scenario DAGs of the UI tests (``tests/integration/test_ui_*.py``): generations whose media the
Media tab and the Clipgen page show, stored under the run's ``conf["out"]`` folder."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from clipgen_provider.operators.clipia import ClipiaGenerateOperator

FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}
OUT = "{{ dag_run.conf['out'] }}"

with DAG("ui_media_studio", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    image = ClipiaGenerateOperator(
        task_id="image",
        model="nano-banana-2",
        inputs={"prompt": "a red mug on {{ dag_run.conf['shelf'] }}", "num_images": 2},
        output_path=OUT,
        **FAST,
    )
    video = ClipiaGenerateOperator.partial(
        task_id="clips", model="seedance-2-fast-t2v", output_path=OUT, **FAST
    ).expand(inputs=[{"prompt": "a mug spinning", "duration": 4}, {"prompt": "a mug falling", "duration": 4}])

    @task
    def not_a_generation() -> str:
        """A plain task: its Media tab shows the empty state."""
        return "plain"

    image >> not_a_generation()

with DAG("ui_media_private", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ClipiaGenerateOperator(
        task_id="image", model="nano-banana-2", inputs={"prompt": "a secret mug"}, output_path=OUT, **FAST
    )

"""Scenario DAGs of the TaskFlow decorators' retry behaviour (``@task.clipia``), one behaviour each.

Each decorated function appends its try number to the file ``params.trace`` (from the run's conf),
so a test sees how often, and in which try, the function ran.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}


def scenario(dag_id: str) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, default_args=DEFAULTS)


def trace(params: Any, ti: Any) -> int:
    """Record that the function runs in this try; return the try number."""
    with Path(params["trace"]).open("a") as handle:
        handle.write(f"{ti.try_number}\n")
    return int(ti.try_number)


with scenario("taskflow_clipia_retry_same_inputs"):

    @task.clipia(model="nano-banana-2", retries=1, **FAST)
    def same_inputs(params: Any = None, ti: Any = None) -> dict[str, Any]:
        """The same inputs on every try."""
        trace(params, ti)
        return {"prompt": "a mug on a shelf"}

    same_inputs()

with scenario("taskflow_clipia_retry_changed_inputs"):

    @task.clipia(model="nano-banana-2", retries=1, **FAST)
    def changed_inputs(params: Any = None, ti: Any = None) -> dict[str, Any]:
        """Different inputs on every try (a function that reads a clock or a random source)."""
        return {"prompt": f"a mug on a shelf, take {trace(params, ti)}"}

    changed_inputs()

with scenario("taskflow_clipia_not_a_dict"):

    @task.clipia(model="nano-banana-2", retries=2, **FAST)
    def prompt_only() -> Any:
        """Returns the prompt instead of the inputs dict."""
        return "a mug on a shelf"

    prompt_only()

"""Totalling what a DAG run's generations cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context


def _costs(task_id: str, value: Any) -> dict[str, float]:
    """The cost of one task's result, or of each instance of a mapped task (``task[i]``)."""
    if isinstance(value, dict):
        cost = value.get("cost")
        return {task_id: float(cost)} if isinstance(cost, int | float) else {}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        found: dict[str, float] = {}
        for index, item in enumerate(value):
            found.update({f"{task_id}[{index}]": cost for cost in _costs(task_id, item).values()})
        return found
    return {}


def total_credits(results: dict[str, Any]) -> dict[str, Any]:
    """Sum the ``cost`` of every generate result in ``results`` (task id → XCom value)."""
    by_task: dict[str, float] = {}
    for task_id, value in results.items():
        by_task.update(_costs(task_id, value))
    return {"total_credits": sum(by_task.values()), "by_task": by_task}


class ClipgenRunCostOperator(BaseOperator):
    """Report the credits charged by the generate tasks of this DAG run, in the log and in XCom.

    Reads the return value of each task in ``task_ids`` (default: every upstream task) and sums
    their ``cost``. Put it at the end of a pipeline with ``trigger_rule="all_done"`` to see the
    cost of a run even when a step failed. Returns ``{"total_credits", "by_task"}``.
    """

    template_fields: Sequence[str] = ("task_ids",)

    def __init__(self, *, task_ids: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_ids = task_ids

    def execute(self, context: Context) -> dict[str, Any]:
        """Pull the results, total them, log one line per task."""
        task_ids = sorted(self.task_ids or self.upstream_task_ids)
        values = context["ti"].xcom_pull(task_ids=task_ids, key="return_value")
        if len(task_ids) == 1:
            values = [values]
        report = total_credits(dict(zip(task_ids, values, strict=True)))
        for task_id, credits in report["by_task"].items():
            self.log.info("%s: %s credits", task_id, credits)
        self.log.info("This run's generations cost %s credits in all.", report["total_credits"])
        return report

"""Operator extra links: a button on the task that opens what it generated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink, Context

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class ClipgenMediaLink(BaseOperatorLink):
    """*Generated media*: the first media file the task produced (an image, a video, a track).

    The operator stores the URL in XCom under :attr:`xcom_key` when the job completes; Airflow's
    UI reads it from there.
    """

    name = "Generated media"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The stored URL, or an empty string (no button) before the job completed."""
        from airflow.sdk.execution_time.xcom import XCom

        value: Any = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return str(value) if value else ""

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Remember ``url`` for this task instance's link."""
        context["ti"].xcom_push(key=cls().xcom_key, value=url)

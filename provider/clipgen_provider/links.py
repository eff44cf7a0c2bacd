"""Operator extra links: a button on the task that opens what it generated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: operator attribute holding the URL, in the worker process that ran the task
_URL_ATTRIBUTE = "_clipgen_media_url"


class ClipgenMediaLink(BaseOperatorLink):
    """*Generated media*: the first media file the task produced (an image, a video, a track).

    Airflow 3 calls :meth:`get_link` in the worker when the task (or a phase of a deferred task)
    ends and stores the answer in XCom under :attr:`xcom_key`; the UI reads that XCom and never
    calls this class. So the link comes from the operator instance that just ran, with no
    execution-API round trip, and a phase that produced nothing (the deferral) gives no button.
    """

    name = "Generated media"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL ``operator`` remembered in this process, or an empty string (no button)."""
        return str(getattr(operator, _URL_ATTRIBUTE, "") or "")

    @staticmethod
    def remember(operator: BaseOperator, url: str) -> None:
        """Make ``url`` the link of the task ``operator`` is running (stored when the task ends)."""
        setattr(operator, _URL_ATTRIBUTE, url)

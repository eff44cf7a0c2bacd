"""Operators for Clipia: generate media (deferrable) and estimate a generation's cost."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, Context

from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator, fail_fast_on_permanent_errors

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipia import ClipiaHook
    from clipgen_provider.triggers.clipia import ClipiaRequestTrigger


def _log_warnings(log: Any, warnings: list[dict[str, Any]] | None) -> None:
    for warning in warnings or []:
        log.warning(
            "Clipia will not apply input %r (%s): %s",
            warning.get("parameter"),
            warning.get("code"),
            warning.get("message"),
        )


class ClipiaGenerateOperator(ClipgenJobOperator):
    """Generate an image, video, speech or music with a Clipia model, without paying twice.

    Submits on the worker with an idempotency key tied to the task instance, pushes the
    ``request_id`` to XCom, then defers to :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`
    (or waits on the worker when ``deferrable=False``). Returns ``{request_id, status, model,
    output, cost, media_urls, created_at, completed_at}``.

    :param model: model slug, e.g. ``nano-banana-2`` (templated)
    :param input: the model's input, e.g. ``{"prompt": "..."}`` (templated)
    :param clipia_conn_id: the ``clipia`` connection
    :param webhook_url: URL Clipia POSTs the outcome to (templated; optional)

    Plus the options of :class:`~clipgen_provider.operators._job.ClipgenJobOperator`
    (``idempotency_key``, ``deferrable``, ``poll_interval``, ``wait_timeout``).
    """

    template_fields: Sequence[str] = ("model", "input", "idempotency_key", "webhook_url", "clipia_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"input": "json"}
    ui_color = "#e8d7ff"

    ledger_name: ClassVar[str] = "clipia_request"
    job_id_xcom_key: ClassVar[str] = "request_id"
    job_noun: ClassVar[str] = "Clipia request"

    def __init__(
        self,
        *,
        model: str,
        input: dict[str, Any],
        clipia_conn_id: str = "clipia_default",
        webhook_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.input = input
        self.clipia_conn_id = clipia_conn_id
        self.webhook_url = webhook_url

    @cached_property
    def hook(self) -> ClipiaHook:
        """The hook for ``clipia_conn_id``."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        return ClipiaHook(self.clipia_conn_id)

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        submitted = self.hook.submit(
            self.model, self.input, webhook_url=self.webhook_url, idempotency_key=idempotency_key
        )
        _log_warnings(self.log, submitted.get("warnings"))
        self.log.info(
            "Submitted Clipia request %s for model %s: %s credits reserved, queue position %s.",
            submitted["request_id"],
            self.model,
            submitted.get("cost"),
            submitted.get("queue_position"),
        )
        return str(submitted["request_id"])

    def read_job(self, job_id: str) -> JobState:
        from clipgen_provider.hooks.clipia import clipia_job_state

        return clipia_job_state(self.hook.get_status(job_id))

    def make_trigger(self, job_id: str, deadline: float | None) -> ClipiaRequestTrigger:
        from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

        return ClipiaRequestTrigger(
            job_id=job_id, conn_id=self.clipia_conn_id, poll_interval=self.poll_interval, deadline=deadline
        )

    def complete_job(self, context: Context, job_id: str) -> dict[str, Any]:
        from clipgen_provider.hooks.clipia import result_summary

        summary = result_summary(self.hook.get_result(job_id))
        self.log.info("Clipia request %s COMPLETED: %s credits charged.", job_id, summary["cost"])
        for url in summary["media_urls"]:
            self.log.info("Media: %s", url)
        return summary

    def describe_failure(self, job_id: str, event: dict[str, Any]) -> str:
        error = self.hook.get_result(job_id).get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or error)
        return str(error or event.get("message"))

    def on_job_timeout(self, job_id: str) -> None:
        self.log.warning(
            "Clipia has no cancel call: request %s keeps running and will be charged when it completes "
            "(its reserve is shown by ClipiaHook.get_result). A retry of this task re-attaches to it.",
            job_id,
        )

    def on_kill(self) -> None:
        """Say plainly that a killed task does not stop (or un-charge) the Clipia request."""
        self.log.warning(
            "Task killed: a submitted Clipia request cannot be cancelled and keeps running; "
            "a retry re-attaches to it instead of paying again."
        )


class ClipiaEstimateOperator(BaseOperator):
    """Return what a Clipia generation would cost (``{credits, warnings}``), without spending anything.

    :param model: model slug (templated)
    :param input: the model's input (templated)
    :param clipia_conn_id: the ``clipia`` connection
    """

    template_fields: Sequence[str] = ("model", "input", "clipia_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"input": "json"}
    ui_color = "#e8d7ff"

    def __init__(
        self,
        *,
        model: str,
        input: dict[str, Any],
        clipia_conn_id: str = "clipia_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.input = input
        self.clipia_conn_id = clipia_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Ask Clipia for the estimate and log it."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        with fail_fast_on_permanent_errors():
            estimate = ClipiaHook(self.clipia_conn_id).estimate(self.model, self.input)
        _log_warnings(self.log, estimate.get("warnings"))
        self.log.info("A %s generation of this input would cost %s credits.", self.model, estimate["credits"])
        return estimate

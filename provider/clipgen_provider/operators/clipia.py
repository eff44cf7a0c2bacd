"""Operators for Clipia: generate media (deferrable) and estimate a generation's cost."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import BaseOperator, Context

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator, fail_fast_on_permanent_errors
from clipgen_provider.operators._ledger import JobLedger

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipia import ClipiaHook
    from clipgen_provider.results import ClipiaEstimate, ClipiaGenerateResult
    from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
    from clipgen_provider.webhooks.mailbox import MailboxRef


def _log_warnings(log: Any, warnings: Sequence[Mapping[str, Any]] | None) -> None:
    for warning in warnings or []:
        log.warning(
            "Clipia will not apply input %r (%s): %s",
            warning.get("parameter"),
            warning.get("code"),
            warning.get("message"),
        )


def model_inputs(inputs: dict[str, Any] | None, input: dict[str, Any] | None) -> dict[str, Any]:
    """The model's inputs from ``inputs``, or from the deprecated ``input`` (with a warning).

    ``inputs`` is the name both APIs' operators use for a generation's parameters; ``input`` (the
    name of Clipia's request field) keeps working for one release.
    """
    if input is not None:
        if inputs is not None:
            raise ClipgenConfigError("Give the model's inputs once, as inputs= (input= is its old name).")
        warnings.warn(
            "input= is deprecated: pass the model's inputs as inputs= (the same name as on the Clipwise "
            "operators). input= will be removed in the next release.",
            AirflowProviderDeprecationWarning,
            stacklevel=3,
        )
        return input
    if inputs is None:
        raise ClipgenConfigError("inputs is required: the model's inputs, e.g. inputs={'prompt': '...'}.")
    return inputs


class ClipiaGenerateOperator(ClipgenJobOperator):
    """Generate an image, video, speech or music with a Clipia model, without paying twice.

    Submits on the worker with an idempotency key tied to the task instance, pushes the
    ``request_id`` to XCom, then defers to :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`
    (:class:`~clipgen_provider.triggers.clipia_webhook.ClipiaWebhookTrigger` with ``wait_for_webhook``),
    or waits on the worker when ``deferrable=False``. Returns ``{request_id, status, model,
    output, cost, media_urls, created_at, completed_at}``.

    :param model: model slug, e.g. ``nano-banana-2`` (templated)
    :param inputs: the model's inputs, e.g. ``{"prompt": "..."}`` (templated); ``input`` is its
        deprecated old name
    :param clipia_conn_id: the ``clipia`` connection
    :param webhook_url: URL Clipia POSTs the outcome to (templated; optional; not with
        ``wait_for_webhook``)
    :param wait_for_webhook: resume on Clipia's signed webhook instead of polling: the request is
        submitted with this try's delivery URL under the connection's ``webhook_base_url``, served
        by the provider's plugin on the API servers (see ``docs/webhooks.md``). The status is still
        polled in case a delivery is lost: first ``webhook_fallback_poll_interval`` seconds after
        deferring, then at doubling intervals up to ``webhook_fallback_max_poll_interval``.
    :param webhook_check_interval: seconds between the trigger's reads of the webhook mailbox
    :param webhook_fallback_poll_interval: seconds before the first safety-net status poll while a
        webhook is expected
    :param webhook_fallback_max_poll_interval: longest pause between safety-net status polls: how
        late, at most, a job whose delivery was lost is noticed
    :param max_credits: the most this generation may cost: Clipia's estimate of ``inputs`` is read
        first, and a higher one fails the task before anything is submitted (templated)
    :param input: deprecated old name of ``inputs`` (warns; removed in the next release)

    Plus the options of :class:`~clipgen_provider.operators._job.ClipgenJobOperator`
    (``idempotency_key``, ``deferrable``, ``poll_interval``, ``wait_timeout``).
    """

    template_fields: Sequence[str] = (
        "model",
        "inputs",
        "idempotency_key",
        "webhook_url",
        "max_credits",
        "output_path",
        "clipia_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"inputs": "json"}
    ui_color = "#e8d7ff"

    ledger_name: ClassVar[str] = "clipia_request"
    job_id_xcom_key: ClassVar[str] = "request_id"
    job_noun: ClassVar[str] = "Clipia request"

    def __init__(
        self,
        *,
        model: str,
        inputs: dict[str, Any] | None = None,
        clipia_conn_id: str = "clipia_default",
        webhook_url: str | None = None,
        wait_for_webhook: bool = False,
        webhook_check_interval: float = 30.0,
        webhook_fallback_poll_interval: float = 60.0,
        webhook_fallback_max_poll_interval: float = 600.0,
        max_credits: float | None = None,
        input: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_for_webhook and not self.wait_for_completion:
            raise ClipgenConfigError(
                "wait_for_webhook=True waits for the webhook, but wait_for_completion=False does not wait: "
                "drop one of them (a sensor waiting for the request polls its status)."
            )
        if wait_for_webhook and webhook_url:
            raise ClipgenConfigError(
                "Give either webhook_url or wait_for_webhook=True: with wait_for_webhook the operator "
                "builds the webhook URL itself."
            )
        if webhook_check_interval <= 0 or webhook_fallback_poll_interval <= 0:
            raise ClipgenConfigError("webhook_check_interval and webhook_fallback_poll_interval must be > 0")
        if webhook_fallback_max_poll_interval < webhook_fallback_poll_interval:
            raise ClipgenConfigError(
                f"webhook_fallback_max_poll_interval ({webhook_fallback_max_poll_interval:g}) must be at "
                f"least webhook_fallback_poll_interval ({webhook_fallback_poll_interval:g})."
            )
        self.model = model
        self.inputs = model_inputs(inputs, input)
        self.clipia_conn_id = clipia_conn_id
        self.webhook_url = webhook_url
        self.wait_for_webhook = wait_for_webhook
        self.webhook_check_interval = webhook_check_interval
        self.webhook_fallback_poll_interval = webhook_fallback_poll_interval
        self.webhook_fallback_max_poll_interval = webhook_fallback_max_poll_interval
        self.max_credits = max_credits
        #: the mailbox this try's submit addressed its webhook to (set by submit_job)
        self._mailbox: MailboxRef | None = None

    @cached_property
    def hook(self) -> ClipiaHook:
        """The hook for ``clipia_conn_id``."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        return ClipiaHook(self.clipia_conn_id)

    def check_budget(self, inputs: dict[str, Any]) -> None:
        """Refuse, before anything is sent, a generation of ``inputs`` whose estimate exceeds
        ``max_credits``.
        """
        if self.max_credits is None:
            return
        cap = float(self.max_credits)
        credits = float(self.hook.estimate(self.model, inputs)["credits"])
        if credits > cap:
            raise ClipgenConfigError(
                f"This {self.model} generation is estimated at {credits:g} credits, over "
                f"max_credits={cap:g}; nothing was submitted. Raise max_credits or make the input "
                "cheaper (e.g. a shorter video)."
            )
        self.log.info("Estimated %g credits, within max_credits=%g.", credits, cap)

    def requested(self) -> dict[str, Any]:
        return {"model": self.model}

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        inputs = self.public_inputs(context, idempotency_key)
        self.check_budget(inputs)
        webhook_url = self.webhook_url
        if self.wait_for_webhook:
            webhook_url = self._webhook_url_for(context, idempotency_key)
        submitted = self.hook.submit(
            self.model, inputs, webhook_url=webhook_url, idempotency_key=idempotency_key
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

    def public_inputs(self, context: Context, idempotency_key: str) -> dict[str, Any]:
        """``inputs`` with every media input (``image_url`` …) a URL Clipia can fetch, checked before
        anything is sent (see :func:`~clipgen_provider.file_inputs.public_inputs`).

        A file on a store that can sign URLs is handed over as a signed URL. A signed URL differs
        each time it is made, and Clipia refuses a known idempotency key with a different body, so
        signed inputs are recorded in ``task_state_store`` for the idempotency key they are sent with:
        a resubmit of that key (after a crash) sends the very same body and gets the same request
        back, never a second charge. A new key (a retry after a failed job) signs afresh.
        """
        from clipgen_provider.file_inputs import SIGNED_URL_SECONDS, public_inputs
        from clipgen_provider.operators._ledger import once_per_task_instance

        resolved = public_inputs(self.inputs)
        if not resolved.signed:
            return resolved.inputs

        def signed() -> dict[str, Any]:
            for label, stored in resolved.signed:
                self.log.info(
                    "Input %s: %s is given to Clipia as a URL signed for %d h.",
                    label,
                    stored,
                    SIGNED_URL_SECONDS // 3600,
                )
            return resolved.inputs

        identity = {"inputs": resolved.given, "idempotency_key": idempotency_key}
        return once_per_task_instance(context, "clipia_signed_inputs", identity, signed, self.log)

    def read_job(self, job_id: str) -> JobState:
        from clipgen_provider.hooks.clipia import clipia_job_state

        return clipia_job_state(self.hook.get_status(job_id))

    def _webhook_url_for(self, context: Context, idempotency_key: str) -> str:
        """The webhook URL to submit ``idempotency_key`` with; opens this try's mailbox if it is new.

        A key keeps the URL it was first submitted with, so a resubmit after a crash sends the same
        body and gets the same request (see :mod:`clipgen_provider.webhooks.addressing`).
        """
        from clipgen_provider.webhooks import addressing

        recorded = addressing.recorded_url(context, idempotency_key)
        if recorded:
            self.log.info(
                "Resubmitting with the webhook URL of the try that first used this idempotency key, so "
                "Clipia returns that same request; its webhook goes to that try, so this one polls."
            )
            self._mailbox = None
            return recorded
        base_url = self.hook.webhook_base_url
        if not base_url or not self.hook.webhook_secrets:
            raise ClipgenConfigError(
                f"wait_for_webhook needs the Clipia connection {self.clipia_conn_id!r} to set both "
                "webhook_base_url (the public address of the Airflow API servers) and webhook_secrets."
            )
        self._mailbox, url = addressing.new_address(context, idempotency_key, base_url, self.clipia_conn_id)
        return url

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume; with ``wait_for_webhook``, defer again if the event is about another request.

        Airflow reuses the id of a deleted trigger on SQLite, and a trigger whose task the webhook
        receiver already resumed may still fire: its event then reaches the task that now holds
        that id. Such an event names a request this try is not waiting for, so it is ignored.
        """
        awaited = JobLedger(context, self.ledger_name).load() if self.wait_for_webhook else None
        job_id = awaited.get("job_id") if awaited else None
        if job_id and isinstance(event, dict) and event.get("job_id") not in (None, job_id):
            self.log.warning(
                "Ignoring a trigger event about Clipia request %s: this try waits for %s (a stale "
                "trigger's event). Waiting again.",
                event.get("job_id"),
                job_id,
            )
            from clipgen_provider.webhooks.addressing import own_mailbox

            self._mailbox = own_mailbox(context)
            self.defer(trigger=self.make_trigger(job_id, self._deadline()), method_name="execute_complete")
        return super().execute_complete(context, event)

    def make_trigger(self, job_id: str, deadline: float | None) -> ClipiaRequestTrigger:
        """The polling trigger; with ``wait_for_webhook`` the one that also reads the mailbox."""
        if self.wait_for_webhook:
            from clipgen_provider.triggers.clipia_webhook import ClipiaWebhookTrigger
            from clipgen_provider.webhooks.mailbox import resume_settle_seconds

            ref = self._mailbox  # None: no webhook comes to this try (see _webhook_url_for): poll as usual
            safety_net: dict[str, Any] = {
                "poll_interval": self.webhook_fallback_poll_interval,
                "poll_schedule": "backoff",
                "max_poll_interval": self.webhook_fallback_max_poll_interval,
            }
            return ClipiaWebhookTrigger(
                job_id=job_id,
                conn_id=self.clipia_conn_id,
                **(self.poll_options() if ref is None else safety_net),
                deadline=deadline,
                mailbox=None if ref is None else ref.as_dict(),
                check_interval=self.webhook_check_interval,
                not_before=time.time() + resume_settle_seconds(),
            )
        from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

        return ClipiaRequestTrigger(
            job_id=job_id, conn_id=self.clipia_conn_id, deadline=deadline, **self.poll_options()
        )

    def complete_job(self, context: Context, job_id: str) -> ClipiaGenerateResult:
        from clipgen_provider.hooks.clipia import result_summary

        summary = result_summary(self.hook.get_result(job_id))
        self.log.info("Clipia request %s COMPLETED: %s credits charged.", job_id, summary["cost"])
        for url in summary["media_urls"]:
            self.log.info("Media: %s", url)
        return summary

    def describe_failure(self, job_id: str, event: dict[str, Any]) -> str:
        from clipgen_provider.outputs import failure_reason

        return failure_reason(self.hook.get_result(job_id).get("error")) or str(event.get("message"))

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
    :param inputs: the model's inputs (templated); ``input`` is its deprecated old name
    :param clipia_conn_id: the ``clipia`` connection
    :param input: deprecated old name of ``inputs`` (warns; removed in the next release)
    """

    template_fields: Sequence[str] = ("model", "inputs", "clipia_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"inputs": "json"}
    ui_color = "#e8d7ff"

    def __init__(
        self,
        *,
        model: str,
        inputs: dict[str, Any] | None = None,
        clipia_conn_id: str = "clipia_default",
        input: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.inputs = model_inputs(inputs, input)
        self.clipia_conn_id = clipia_conn_id

    def execute(self, context: Context) -> ClipiaEstimate:
        """Ask Clipia for the estimate and log it."""
        from clipgen_provider.file_inputs import public_inputs
        from clipgen_provider.hooks.clipia import ClipiaHook

        with fail_fast_on_permanent_errors():
            inputs = public_inputs(self.inputs).inputs  # files made URLs Clipia can fetch, as on submit
            estimate = ClipiaHook(self.clipia_conn_id).estimate(self.model, inputs)
        _log_warnings(self.log, estimate.get("warnings"))
        self.log.info("A %s generation of this input would cost %s credits.", self.model, estimate["credits"])
        return estimate

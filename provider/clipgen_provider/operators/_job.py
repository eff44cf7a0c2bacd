"""The submit-once-then-wait flow shared by every operator that starts a paid remote job.

:class:`ClipgenJobOperator` owns what must be identical for Clipia and Clipwise: the idempotent,
crash-safe submission recorded in the task's ledger, re-attaching on retry, the absolute deadline,
deferring to a trigger (or running that same trigger's wait on the worker when
``deferrable=False``), validating the trigger's event, and failing fast on permanent errors so they
do not burn Airflow retries. Subclasses supply the API calls.

With ``wait_for_completion=False`` the flow stops after the submit: the job id goes to XCom (and to
the outlet Asset events) for a sensor elsewhere to pick up. What a finished job hands on (stored
media, link, Asset extras) is shared with the sensors in :mod:`clipgen_provider.outputs`, and so is
what OpenLineage is told (:mod:`clipgen_provider.lineage`); how long a wait may last comes from
:mod:`clipgen_provider.waits`.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    conf,
)

from clipgen_provider import metrics
from clipgen_provider.exceptions import ClipgenApiError, ClipgenConfigError, ClipgenJobFailed
from clipgen_provider.jobs import EVENT_STATUSES, JobState
from clipgen_provider.lineage import JobLineageMixin
from clipgen_provider.links import ClipgenMediaLink
from clipgen_provider.operators._ledger import JobLedger, task_identity_key
from clipgen_provider.outputs import annotate_asset_events, check_output_path, deliver_outputs
from clipgen_provider.waits import check_wait_timeout, wait_bound

if TYPE_CHECKING:  # the trigger module imports the HTTP stack; DAG parsing must not pay for it
    from clipgen_provider.triggers._polling import JobPollingTrigger


@contextmanager
def fail_fast_on_permanent_errors() -> Iterator[None]:
    """Turn permanent errors into ``AirflowFailException`` (no retry); let transient ones retry."""
    try:
        yield
    except ClipgenConfigError as err:
        raise AirflowFailException(str(err)) from err
    except ClipgenApiError as err:
        if err.is_transient:
            raise
        raise AirflowFailException(str(err)) from err


async def _first_event(trigger: JobPollingTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AirflowException(f"{trigger.job_label}: the wait ended without an event")


class ClipgenJobOperator(JobLineageMixin, BaseOperator):
    """Submit one paid remote job at most once per task instance, then wait for it.

    :param idempotency_key: key sent with the submit; default: derived from the task instance
        (dag, task, run, map index), so a retry or a crashed worker never submits twice.
    :param deferrable: free the worker slot while the job runs (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between status polls with ``poll_schedule="fixed"``; the
        adaptive schedule polls at this interval when it has nothing to estimate the end from, and
        lets a poll aimed at the estimated end come up to three quarters of it late.
    :param poll_schedule: ``"adaptive"`` (default): poll near the job's estimated end, from its
        progress, its queue position and how long this model's (or format's) jobs took lately,
        backing off while it is far (about a third of the calls of a 5 s interval on 60 s
        renders); ``"fixed"``: every ``poll_interval``. See ``docs/polling.md``.
    :param min_poll_interval: the shortest pause between two adaptive polls, in seconds (default:
        1 s, or ``poll_interval`` if shorter).
    :param max_poll_interval: the longest pause between two adaptive polls, in seconds: the most
        a job's end can go unnoticed (default: 120 s, or ``poll_interval`` if longer).
    :param output_path: where to copy every produced media file (templated): an
        ``ObjectStoragePath`` or a URL such as ``file:///data/media/{{ dag_run.run_after | ds }}``,
        ``s3://bucket/media``; files are named ``{job_id}-{index}.{ext}`` and their paths returned as
        ``stored_paths``. Checked before anything is submitted.
    :param wait_timeout: longest wait for the job (seconds or timedelta); default: the task's
        ``execution_timeout`` (which Airflow itself does not apply while a task is deferred), else
        ``[clipgen] default_wait_timeout`` (6 hours). ``float("inf")`` waits with no deadline.
    :param wait_for_completion: False submits (once, with the same idempotency and re-attach rules)
        and returns at once: the job id is pushed to XCom and returned with its status, for a
        sensor elsewhere to wait for; nothing is downloaded, so ``output_path`` belongs on that
        sensor.
    """

    operator_extra_links = (ClipgenMediaLink(),)

    #: task_state_store key of the ledger
    ledger_name: ClassVar[str]
    #: XCom key under which the job id is pushed before waiting
    job_id_xcom_key: ClassVar[str]
    #: how log lines and errors name a job, e.g. "Clipia request"
    job_noun: ClassVar[str]

    def __init__(
        self,
        *,
        idempotency_key: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 5.0,
        poll_schedule: Literal["adaptive", "fixed"] = "adaptive",
        min_poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        wait_timeout: timedelta | float | None = None,
        output_path: Any = None,
        wait_for_completion: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from clipgen_provider.triggers._schedule import check_poll_settings

        check_poll_settings(poll_schedule, poll_interval, min_poll_interval, max_poll_interval)
        check_wait_timeout(wait_timeout)
        if output_path and not wait_for_completion:
            raise ClipgenConfigError(
                f"{self.task_id}: output_path needs the outputs, but wait_for_completion=False returns "
                "right after the submit, before there are any. Put output_path on the sensor that waits "
                "for the job (ClipiaRequestSensor or ClipwiseGenerationSensor), or drop "
                "wait_for_completion=False."
            )
        self.idempotency_key = idempotency_key
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.poll_schedule = poll_schedule
        self.min_poll_interval = min_poll_interval
        self.max_poll_interval = max_poll_interval
        #: what the trigger's schedule starts from (set by :meth:`execute` before :meth:`make_trigger`)
        self._schedule_state: dict[str, Any] | None = None
        self.wait_timeout = wait_timeout
        self.output_path = output_path
        self.wait_for_completion = wait_for_completion

    # -- what a subclass provides ------------------------------------------------------------
    @abstractmethod
    def submit_job(self, context: Context, idempotency_key: str) -> str:
        """Submit the job with ``idempotency_key``; return its id."""

    @abstractmethod
    def read_job(self, job_id: str) -> JobState:
        """Read the job's state once (sync)."""

    @abstractmethod
    def complete_job(self, context: Context, job_id: str) -> Any:
        """Fetch the finished job's outputs; return the task's XCom value."""

    @abstractmethod
    def make_trigger(self, job_id: str, deadline: float | None) -> JobPollingTrigger:
        """The trigger that waits for ``job_id``."""

    def requested(self) -> dict[str, Any]:
        """What was asked for (e.g. ``{"model": ...}``), for the submit-only XCom and Asset event."""
        return {}

    def job_kind(self) -> str:
        """What kind of job this is, for the adaptive schedule's duration history: the noun and the
        model or format asked for (jobs of one model take about as long as each other)."""
        requested = self.requested()
        what = requested.get("model") or requested.get("format")
        return f"{self.job_noun}:{what}" if what else self.job_noun

    def poll_options(self) -> dict[str, Any]:
        """The trigger's poll kwargs (interval, schedule, bounds, job kind, schedule state)."""
        return {
            "poll_interval": self.poll_interval,
            "poll_schedule": self.poll_schedule,
            "min_poll_interval": self.min_poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "job_kind": self.job_kind(),
            "schedule_state": self._schedule_state,
        }

    def describe_failure(self, job_id: str, event: dict[str, Any]) -> str:
        """Why the job failed, in the API's words (default: the trigger's message)."""
        return str(event.get("message"))

    def on_job_timeout(self, job_id: str) -> str | None:
        """React to the deadline passing while the job still runs (cancel it, or say it runs on).

        Return what a retry of the task will do, for the timeout error; None means it re-attaches.
        """
        return None

    # -- the flow ---------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Submit (or re-attach to) the job, then defer or wait on the worker."""
        with fail_fast_on_permanent_errors():
            if self.output_path:
                check_output_path(self.output_path)
            job_id, state = self._submit_or_resume(context)
            context["ti"].xcom_push(key=self.job_id_xcom_key, value=job_id)
            if not self.wait_for_completion:
                return self._submitted(context, job_id, state)
            if state is not None and state.succeeded:
                return self._finish(context, job_id)
            deadline = self._deadline()
            from clipgen_provider.triggers._schedule import handover

            self._schedule_state = handover(seen_at=time.time(), state=state)
            trigger = self.make_trigger(job_id, deadline)
            if self.deferrable:
                self.defer(trigger=trigger, method_name="execute_complete")
            event = asyncio.run(_first_event(trigger))
        return self.execute_complete(context, event)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event: return outputs, or fail with the reason."""
        if (
            not isinstance(event, dict)
            or event.get("status") not in EVENT_STATUSES
            or not event.get("job_id")
        ):
            raise AirflowException(f"{self.job_noun}: unexpected trigger event {event!r}")
        job_id = str(event["job_id"])
        with fail_fast_on_permanent_errors():
            if event["status"] == "success":
                return self._finish(context, job_id)
            if event["status"] == "failed":
                self._count_end(context, job_id, succeeded=False)
                raise ClipgenJobFailed(
                    f"{self.job_noun} {job_id} ended {event.get('remote_status')}: "
                    f"{self.describe_failure(job_id, event)}. A retry of this task submits a new job "
                    f"(a failed or cancelled job is not charged).",
                    job_id=job_id,
                    status=str(event.get("remote_status")),
                )
            if event["status"] == "timeout":
                next_try = self.on_job_timeout(job_id) or "a retry re-attaches to the same job"
                raise AirflowTaskTimeout(f"{event['message']}; {next_try}.")
        raise AirflowException(f"{event['message']}. A retry re-attaches to the same job.")

    def _finish(self, context: Context, job_id: str) -> Any:
        """Fetch the outputs, copy the media to ``output_path``, feed the link and the outlets."""
        result = self.complete_job(context, job_id)
        self._count_end(context, job_id, succeeded=True, result=result)
        self.lineage_result = deliver_outputs(self, context, result, self.output_path, job_id=job_id)
        return self.lineage_result

    def _job_metrics(self) -> metrics.JobMetrics:
        return metrics.JobMetrics.of(self.dag_id, self.task_id, self.ledger_name, self.requested())

    def _count_end(self, context: Context, job_id: str, *, succeeded: bool, result: Any = None) -> None:
        """Count the job's end in the metrics once, whichever try sees it (see :class:`JobLedger`).

        Without a ``task_state_store`` (Airflow < 3.3) nothing records what was counted: the try
        that sees the end counts it, and no duration is sent (the submit time is not kept).
        """
        ledger = JobLedger(context, self.ledger_name)
        record = ledger.load() or {}
        submitted_at = record.get("submitted_at") if record.get("job_id") == job_id else None
        if ledger.durable:
            if submitted_at is None:
                return  # counted by an earlier try, or submitted before this provider counted ends
            ledger.save(key=record["key"], job_id=job_id)
        self._job_metrics().ended(succeeded, submitted_at=submitted_at, result=result)

    def _submitted(self, context: Context, job_id: str, state: JobState | None) -> dict[str, Any]:
        """Submit-only: the job id, its status (``submitted`` when just sent) and what was asked for."""
        summary = {
            self.job_id_xcom_key: job_id,
            "status": state.status if state is not None else "submitted",
            **self.requested(),
        }
        annotate_asset_events(self, context, summary)
        self.log.info(
            "%s %s is %s; not waiting for it (wait_for_completion=False). A sensor can wait for it "
            "and keep its media: its id is in this task's XCom %r.",
            self.job_noun,
            job_id,
            summary["status"],
            self.job_id_xcom_key,
        )
        self.lineage_result = summary
        return summary

    def _deadline(self) -> float | None:
        """The absolute end of this wait (None: unbounded on request), announced in the log."""
        bound = wait_bound(self.wait_timeout, self.execution_timeout)
        deadline = bound.deadline()
        self.log.info(bound.describe(deadline))
        return deadline

    def _submit_or_resume(self, context: Context) -> tuple[str, JobState | None]:
        """Return the job this try waits for, submitting only when no earlier try left one usable."""
        ledger = JobLedger(context, self.ledger_name)
        base_key = self.idempotency_key or task_identity_key(context, self.ledger_name)
        try_key = f"{base_key}:try{context['ti'].try_number}"
        record = ledger.load()
        key = base_key
        if record and record.get("job_id"):
            state = self.read_job(record["job_id"])
            if not state.terminal or state.succeeded:
                self._job_metrics().reattached()
            if not state.terminal:
                self.log.info(
                    "Re-attaching to %s %s started by an earlier try (%s); not submitting again.",
                    self.job_noun,
                    state.job_id,
                    state.describe(),
                )
                return state.job_id, state
            if state.succeeded:
                self.log.info(
                    "%s %s already completed in an earlier try; using its result, no new charge.",
                    self.job_noun,
                    state.job_id,
                )
                return state.job_id, state
            self.log.warning(
                "%s %s ended %s in an earlier try; submitting a new one.",
                self.job_noun,
                state.job_id,
                state.describe(),
            )
            key = try_key
        elif record:
            key = record["key"]
            self.log.warning(
                "An earlier try stopped while submitting; resubmitting with its idempotency key so the "
                "API returns that same job instead of charging for a new one."
            )
        if ledger.durable or context["ti"].try_number <= 1:
            return self._submit_recorded(context, ledger, key, try_key), None
        return self._resubmit_without_ledger(context, ledger, key, try_key), None

    def _resubmit_without_ledger(self, context: Context, ledger: JobLedger, key: str, try_key: str) -> str:
        """A retry on Airflow before 3.3 (no ``task_state_store``): the API is the ledger.

        Resubmitting with the task instance's key returns the job an earlier try started, running or
        completed, without a new charge: this try re-attaches to it (counted as such, not as a new
        submit). Only when that job ended failed (not charged) does this try submit anew, with its
        try-scoped key.
        """
        job_id, key = self._send_submit(context, ledger, key, try_key)
        if key == try_key:
            return self._record_new_job(ledger, key, job_id)
        state = self.read_job(job_id)
        if not state.terminal or state.succeeded:
            self.log.info(
                "No task_state_store in this Airflow runtime: the idempotency key returned %s %s of an "
                "earlier try (%s); using it, no new charge.",
                self.job_noun,
                job_id,
                state.describe(),
            )
            ledger.save(key=key, job_id=job_id)  # no submit time: that was the earlier try's
            self._job_metrics().reattached()
            return job_id
        self.log.warning(
            "No task_state_store in this Airflow runtime: the idempotency key returned %s %s of an earlier "
            "try, which ended %s (not charged). Submitting a new one with the try-scoped key %s: one new "
            "charge when it completes.",
            self.job_noun,
            job_id,
            state.describe(),
            try_key,
        )
        return self._submit_recorded(context, ledger, try_key, try_key)

    def _submit_recorded(self, context: Context, ledger: JobLedger, key: str, try_key: str) -> str:
        """Submit a new job (see :meth:`_send_submit`), record it and count it."""
        job_id, key = self._send_submit(context, ledger, key, try_key)
        return self._record_new_job(ledger, key, job_id)

    def _send_submit(self, context: Context, ledger: JobLedger, key: str, try_key: str) -> tuple[str, str]:
        """Record the key, submit; a reused key with a new input gets ``try_key``. Return the job id
        and the key it was submitted with."""
        ledger.save(key=key, job_id=None)
        try:
            return self.submit_job(context, key), key
        except ClipgenApiError as err:
            if err.code != "idempotency_key_reuse" or key == try_key:
                raise
            self.log.warning(
                "The idempotency key %s was already used with a different input (the input changed "
                "since an earlier try, whose job may still be charged). Submitting with the try-scoped "
                "key %s instead.",
                key,
                try_key,
            )
            ledger.save(key=try_key, job_id=None)
            return self.submit_job(context, try_key), try_key

    def _record_new_job(self, ledger: JobLedger, key: str, job_id: str) -> str:
        """Record the job the API just accepted, with its submit time, and count it submitted."""
        ledger.save(key=key, job_id=job_id, submitted_at=time.time())
        self._job_metrics().submitted()
        return job_id

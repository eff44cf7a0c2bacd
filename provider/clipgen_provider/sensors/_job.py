"""What the sensors for jobs submitted elsewhere share: poke, defer, keep the media.

:class:`ClipgenJobSensor` waits for one remote job (a Clipia request, a Clipwise generation) that
some other task or system started, and hands on its outcome exactly as the generate operators do
(:mod:`clipgen_provider.outputs`): stored media, the *Generated media* link, Asset event extras.

In deferrable mode it behaves as ``BaseSensorOperator`` does when it pokes, because that is what a
DAG author expects of any sensor:

* the first poke runs on the worker with ``BaseSensorOperator``'s failure rules (``soft_fail`` and
  ``never_fail`` skip, ``silent_fail`` logs and keeps waiting), so a job that already failed skips
  a ``soft_fail`` sensor instead of failing it;
* ``timeout`` counts from that first poke; the trigger carries it as an absolute deadline, and the
  deferral has the same bound (plus a grace period) as a backstop should no triggerer run it. Either
  way the task ends with ``AirflowSensorTimeout``, which ``soft_fail`` turns into a skip and which
  is never retried;
* ``exponential_backoff`` doubles the trigger's pause after every poll that found the job running,
  up to ``max_wait`` (else up to ``timeout``); without it the trigger polls on ``poll_schedule``
  (by default near the job's estimated end, ``poke_interval`` when it cannot estimate: see
  ``docs/polling.md``), starting from what the first poke saw;
* whatever the resumed task raises goes through ``BaseSensorOperator.resume_execution``, which
  applies ``soft_fail`` and ``never_fail`` to it.
"""

from __future__ import annotations

import time
import traceback
from abc import abstractmethod
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

from clipgen_provider.jobs import EVENT_STATUSES, JobState
from clipgen_provider.lineage import JobLineageMixin
from clipgen_provider.links import ClipgenMediaLink
from clipgen_provider.operators._job import fail_fast_on_permanent_errors
from clipgen_provider.outputs import check_output_path, deliver_outputs, failure_reason

if TYPE_CHECKING:
    from clipgen_provider.triggers._polling import JobPollingTrigger

#: how much longer than ``timeout`` the deferral may last before Airflow itself times it out
#: (the trigger's own deadline normally ends the wait first, with a clearer message)
DEFERRAL_GRACE_SECONDS = 60.0


class ClipgenJobSensor(JobLineageMixin, BaseSensorOperator):
    """Wait until a job submitted elsewhere ends; return its result digest and keep its media.

    It only reads: it never submits, pays for or cancels anything.

    :param output_path: where to copy the job's media files (templated), as on the generate
        operators: an ``ObjectStoragePath`` or a URL such as
        ``file:///data/media/{{ dag_run.run_after | ds }}`` or ``s3://bucket/media``; files are named
        ``{job_id}-{index}.{ext}`` and listed as ``stored_paths`` in the XCom value. Checked before
        the first poke.
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``),
        with ``soft_fail``, ``timeout`` and ``exponential_backoff`` working as when poking.
    :param poll_schedule: how the trigger polls when deferred without ``exponential_backoff``:
        ``"adaptive"`` (default) near the job's estimated end, from its progress and queue position,
        ``poke_interval`` when it cannot estimate; ``"fixed"`` every ``poke_interval``.
    :param min_poll_interval: the shortest pause between two adaptive polls, in seconds (default:
        1 s, or ``poke_interval`` if shorter).
    :param max_poll_interval: the longest pause between two adaptive polls, in seconds: the most the
        job's end can go unnoticed (default: 120 s, or ``poke_interval`` if longer).
    """

    operator_extra_links = (ClipgenMediaLink(),)

    #: how log lines and errors name the job, e.g. "Clipia request"
    job_noun: ClassVar[str]

    def __init__(
        self,
        *,
        output_path: Any = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_schedule: Literal["adaptive", "fixed"] = "adaptive",
        min_poll_interval: float | None = None,
        max_poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from clipgen_provider.triggers._schedule import check_poll_settings

        check_poll_settings(poll_schedule, self.poke_interval, min_poll_interval, max_poll_interval)
        self.output_path = output_path
        self.deferrable = deferrable
        self.poll_schedule = poll_schedule
        self.min_poll_interval = min_poll_interval
        self.max_poll_interval = max_poll_interval
        #: when the last poke read the job, and what it saw (the trigger's schedule starts there)
        self._seen: tuple[float, JobState] | None = None

    # -- what a subclass provides ------------------------------------------------------------
    @property
    @abstractmethod
    def job_id(self) -> str:
        """The job waited for (the rendered ``request_id`` / ``generation_id``)."""

    @abstractmethod
    def read_job(self) -> tuple[JobState, Mapping[str, Any] | None]:
        """Read the job once: its state and, once it is terminal, the API's final answer."""

    @abstractmethod
    def summarize(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """The XCom digest of a completed job: the same as the generate operator returns."""

    @abstractmethod
    def make_trigger(self, deadline: float, polling: dict[str, Any]) -> JobPollingTrigger:
        """The read-only trigger that polls the job, with ``polling`` (:meth:`poll_options`) as kwargs."""

    # -- the flow ---------------------------------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One read; a completed job's digest becomes the XCom value, a failed one fails the task."""
        with fail_fast_on_permanent_errors():
            state, answer = self.read_job()
        self._seen = (time.time(), state)
        self.log.info("%s %s: %s", self.job_noun, self.job_id, state.describe())
        if not state.terminal:
            return False
        if not state.succeeded:
            reason = failure_reason((answer or {}).get("error")) or state.error or "no reason given"
            raise AirflowFailException(f"{self.job_noun} {self.job_id} ended {state.status}: {reason}")
        return PokeReturnValue(is_done=True, xcom_value=self.summarize(answer or {}))

    def execute(self, context: Context) -> Any:
        """Check ``output_path``, then poke like any sensor, or poke once and defer."""
        with fail_fast_on_permanent_errors():
            if self.output_path:
                check_output_path(self.output_path)
        if not self.deferrable:
            return self._deliver(context, super().execute(context))
        started = time.time()
        done = self._first_poke(context)
        if isinstance(done, PokeReturnValue) and done.is_done:
            return self._deliver(context, done.xcom_value)
        deadline = started + self.timeout
        polling = self.poll_options()
        self.log.info(
            "Deferring: the triggerer polls %s %s (%s schedule, %s s interval) until %s.",
            self.job_noun,
            self.job_id,
            polling["poll_schedule"],
            self.poke_interval,
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline)),
        )
        self.defer(
            trigger=self.make_trigger(deadline, polling),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(deadline - time.time(), 0.0) + DEFERRAL_GRACE_SECONDS),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: the result digest, or why the wait ended (in the API's words)."""
        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise AirflowException(f"{self.job_noun} {self.job_id}: unexpected trigger event {event!r}")
        status = event["status"]
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"{self.job_noun} {self.job_id} did not finish within the sensor's timeout of "
                f"{timedelta(seconds=round(self.timeout))} ({event.get('message')})"
            )
        if status == "error":
            raise AirflowException(str(event.get("message")))
        done = self.poke(context)  # a failed job raises here, with the API's reason
        if not (isinstance(done, PokeReturnValue) and done.is_done):
            raise AirflowException(
                f"{self.job_noun} {self.job_id}: the trigger said {status}, but it still runs"
            )
        return self._deliver(context, done.xcom_value)

    def _first_poke(self, context: Context) -> bool | PokeReturnValue:
        """:meth:`poke` with the failure rules ``BaseSensorOperator.execute`` applies to every poke."""
        try:
            return self.poke(context)
        except AirflowSkipException:
            raise
        except (AirflowSensorTimeout, AirflowTaskTimeout, AirflowFailException) as err:
            if self.soft_fail or self.never_fail:
                option = "soft_fail" if self.soft_fail else "never_fail"
                raise AirflowSkipException(f"Skipping due to {option}: {err}") from err
            raise
        except Exception as err:
            if self.silent_fail:
                self.log.error("Sensor poke failed; waiting on (silent_fail):\n%s", traceback.format_exc())
                return False
            if self.never_fail:
                raise AirflowSkipException(f"Skipping due to never_fail: {err}") from err
            raise

    def poll_options(self) -> dict[str, Any]:
        """The trigger's poll kwargs: with ``exponential_backoff`` pauses doubling from
        ``poke_interval`` up to ``max_wait`` (else ``timeout``), as when poking; otherwise
        ``poll_schedule`` within its bounds, starting from what the last poke saw."""
        if self.exponential_backoff:
            ceiling = self.max_wait.total_seconds() if self.max_wait else float(self.timeout)
            return {
                "poll_interval": self.poke_interval,
                "poll_schedule": "backoff",
                "max_poll_interval": ceiling,
            }
        from clipgen_provider.triggers._schedule import handover

        seen = self._seen
        return {
            "poll_interval": self.poke_interval,
            "poll_schedule": self.poll_schedule,
            "min_poll_interval": self.min_poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "schedule_state": handover(seen_at=seen[0], state=seen[1]) if seen else None,
        }

    def _deliver(self, context: Context, result: Any) -> Any:
        """Store the media, set the link, annotate the outlet Asset events (see :mod:`..outputs`), and
        keep the result for OpenLineage (see :mod:`..lineage`)."""
        self.lineage_result = deliver_outputs(self, context, result, self.output_path, job_id=self.job_id)
        return self.lineage_result

"""Every metric the provider emits: its name, its type, and the tiny helpers that send it.

The metrics go through Airflow's own stats object, so they reach whatever the deployment's
``[metrics]`` section configures for Airflow's metrics (StatsD, DogStatsD, OpenTelemetry), with
Airflow's prefix. Names follow Airflow's style: lower case, dot-separated, ``clipgen.`` first,
outcomes as the last part (like Airflow's ``triggers.succeeded``). Tags carry only bounded values
(DAG, task, job type, model or format, API, HTTP status); never a job id, so the number of series
stays that of the DAGs. docs/metrics.md lists them all; a docs test keeps that table equal to
:data:`METRICS`.

A metrics backend that misbehaves never fails a task, a trigger or a webhook answer: the helpers
log it and go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from airflow.providers.common.compat.sdk import Stats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    """One metric: its name (without Airflow's ``statsd_prefix``) and how it is sent."""

    name: str
    type: Literal["counter", "timer"]


JOBS_SUBMITTED = Metric("clipgen.jobs.submitted", "counter")
JOBS_REATTACHED = Metric("clipgen.jobs.reattached", "counter")
JOBS_SUCCEEDED = Metric("clipgen.jobs.succeeded", "counter")
JOBS_FAILED = Metric("clipgen.jobs.failed", "counter")
JOBS_DURATION = Metric("clipgen.jobs.duration", "timer")
CREDITS_CHARGED = Metric("clipgen.credits.charged", "counter")
POLL_ERRORS = Metric("clipgen.poll.errors", "counter")
#: one counter per answer of the webhook receiver (the ``Result`` of ``webhooks/receiver.py``), so
#: the split by result survives plain StatsD, which drops tags
WEBHOOK_DELIVERIES: dict[str, Metric] = {
    result: Metric(f"clipgen.webhook.deliveries.{result}", "counter")
    for result in ("accepted", "duplicate", "ignored", "rejected", "too_large", "invalid", "unavailable")
}

#: every metric of the provider, as docs/metrics.md lists them
METRICS: tuple[Metric, ...] = (
    JOBS_SUBMITTED,
    JOBS_REATTACHED,
    JOBS_SUCCEEDED,
    JOBS_FAILED,
    JOBS_DURATION,
    CREDITS_CHARGED,
    POLL_ERRORS,
    *WEBHOOK_DELIVERIES.values(),
)


def _emit(method: str, metric: Metric, value: Any, tags: Mapping[str, str] | None) -> None:
    """``Stats.<method>(name, value, tags=...)``; a failing backend is logged, never raised."""
    try:
        getattr(Stats, method)(metric.name, value, tags=dict(tags) if tags else None)
    except Exception as err:  # metrics are never worth failing a paid job or a webhook answer
        log.warning("Could not emit metric %s: %s: %s", metric.name, type(err).__name__, err)


def incr(metric: Metric, count: float = 1, tags: Mapping[str, str] | None = None) -> None:
    """Add ``count`` to a counter (credits may be fractional: every Airflow backend adds them)."""
    if count:
        _emit("incr", metric, int(count) if float(count).is_integer() else count, tags)


def timing(metric: Metric, duration: timedelta, tags: Mapping[str, str] | None = None) -> None:
    """Record one observation of a timer (sent in milliseconds, as Airflow's timers are)."""
    _emit("timing", metric, duration, tags)


def credits_of(result: Any) -> float | None:
    """The credits a finished job's result says were charged (Clipia's ``cost``); None if it says none."""
    cost = result.get("cost") if isinstance(result, Mapping) else None
    if isinstance(cost, bool) or not isinstance(cost, int | float) or cost < 0:
        return None
    return float(cost)


@dataclass(frozen=True)
class JobMetrics:
    """The metrics of one task's paid jobs, all with the same tags.

    :param tags: ``dag_id``, ``task_id``, ``job_type`` (the operator's kind of job, e.g.
        ``clipia_request``) and, when the job has one, ``model`` (Clipia model or Clipwise format)
    """

    tags: Mapping[str, str]

    @classmethod
    def of(cls, dag_id: str, task_id: str, job_type: str, requested: Mapping[str, Any]) -> JobMetrics:
        """The metrics of a task; ``requested`` is the operator's ``requested()`` (model or format)."""
        tags = {"dag_id": dag_id, "task_id": task_id, "job_type": job_type}
        model = requested.get("model") or requested.get("format")
        if model:
            tags["model"] = str(model)
        return cls(tags)

    def submitted(self) -> None:
        """The API accepted a new job."""
        incr(JOBS_SUBMITTED, tags=self.tags)

    def reattached(self) -> None:
        """A try took over the job an earlier try submitted, instead of submitting again."""
        incr(JOBS_REATTACHED, tags=self.tags)

    def ended(self, succeeded: bool, *, submitted_at: float | None, result: Any = None) -> None:
        """The job ended: its outcome, what it was charged (from its ``result``), and how long it took
        since ``submitted_at`` (UNIX time; None: unknown, no duration is sent)."""
        incr(JOBS_SUCCEEDED if succeeded else JOBS_FAILED, tags=self.tags)
        if succeeded and (charged := credits_of(result)) is not None:
            incr(CREDITS_CHARGED, charged, tags=self.tags)
        if submitted_at is not None:
            outcome = "succeeded" if succeeded else "failed"
            duration = timedelta(seconds=max(time.time() - submitted_at, 0.0))
            timing(JOBS_DURATION, duration, tags={**self.tags, "outcome": outcome})


def count_poll_error(api: str, status_code: int | None) -> None:
    """A trigger's status read failed (``status_code`` None: no answer at all)."""
    status = "network" if status_code is None else str(status_code)
    incr(POLL_ERRORS, tags={"api": api.lower(), "status": status})


def count_webhook_delivery(result: str) -> None:
    """The webhook receiver answered a delivery with ``result``."""
    incr(WEBHOOK_DELIVERIES[result])

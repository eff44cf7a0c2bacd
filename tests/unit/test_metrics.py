"""The provider's metrics: names, tags and values of the helpers, and when the job flow counts.

Airflow's stats object is replaced by a recorder; that the metrics reach a real StatsD server is
shown by tests/scenarios/test_metrics.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, get_args

import pytest
from airflow.sdk import DAG

from clipgen_provider import metrics
from clipgen_provider.exceptions import ClipgenJobFailed
from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator

DAG_ID = "metrics_unit"
TAGS = {"dag_id": DAG_ID, "task_id": "gen", "job_type": "fake_job", "model": "m1"}


class RecordingStats:
    """Airflow's ``Stats``, as far as the provider uses it: each call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, dict[str, str] | None]] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1, *, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("incr", stat, count, tags))

    def timing(self, stat: str, dt: Any, *, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("timing", stat, dt, tags))

    def of(self, metric: metrics.Metric) -> list[tuple[Any, dict[str, str] | None]]:
        """The values and tags sent for ``metric``."""
        return [(value, tags) for _, stat, value, tags in self.calls if stat == metric.name]


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> RecordingStats:
    recorder = RecordingStats()
    monkeypatch.setattr(metrics, "Stats", recorder)
    return recorder


# -- names ----------------------------------------------------------------------------------------
def test_every_metric_is_listed_once_with_an_airflow_style_name() -> None:
    names = [metric.name for metric in metrics.METRICS]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"clipgen(\.[a-z][a-z_]*)+", name), name
    declared = {value for value in vars(metrics).values() if isinstance(value, metrics.Metric)}
    assert declared <= set(metrics.METRICS), "a Metric constant missing from METRICS"


def test_there_is_a_delivery_counter_for_every_answer_of_the_receiver() -> None:
    from clipgen_provider.webhooks.receiver import Result

    assert set(metrics.WEBHOOK_DELIVERIES) == set(get_args(Result))


# -- helpers --------------------------------------------------------------------------------------
def test_job_tags_name_the_model_or_the_format_and_nothing_else(stats: RecordingStats) -> None:
    assert metrics.JobMetrics.of("d", "t", "clipia_request", {"model": "flux"}).tags == {
        "dag_id": "d",
        "task_id": "t",
        "job_type": "clipia_request",
        "model": "flux",
    }
    assert (
        metrics.JobMetrics.of("d", "t", "clipwise_generation", {"format": "smart"}).tags["model"] == "smart"
    )
    extraction = metrics.JobMetrics.of("d", "t", "clipwise_extract_url", {"source_url": "https://x/y"})
    assert "model" not in extraction.tags, "a URL is not a bounded tag value"


def test_a_success_counts_the_outcome_the_credits_and_the_duration(stats: RecordingStats) -> None:
    job = metrics.JobMetrics(TAGS)
    job.ended(True, submitted_at=time.time() - 90, result={"cost": 4.0})
    assert stats.of(metrics.JOBS_SUCCEEDED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == [(4, TAGS)]
    assert type(stats.of(metrics.CREDITS_CHARGED)[0][0]) is int, "whole credits go as an integer"
    [(duration, tags)] = stats.of(metrics.JOBS_DURATION)
    assert timedelta(seconds=90) <= duration < timedelta(seconds=120)
    assert tags == {**TAGS, "outcome": "succeeded"}
    assert stats.of(metrics.JOBS_FAILED) == []


def test_fractional_credits_are_counted_exactly(stats: RecordingStats) -> None:
    metrics.JobMetrics(TAGS).ended(True, submitted_at=None, result={"cost": 2.5})
    assert stats.of(metrics.CREDITS_CHARGED) == [(2.5, TAGS)]
    assert stats.of(metrics.JOBS_DURATION) == [], "no submit time, no duration"


@pytest.mark.parametrize("result", [None, {}, {"cost": None}, {"cost": True}, {"cost": "4"}, {"cost": 0}])
def test_a_result_without_a_charge_counts_no_credits(stats: RecordingStats, result: Any) -> None:
    metrics.JobMetrics(TAGS).ended(True, submitted_at=None, result=result)
    assert stats.of(metrics.JOBS_SUCCEEDED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == []


def test_a_failure_counts_no_credits(stats: RecordingStats) -> None:
    metrics.JobMetrics(TAGS).ended(False, submitted_at=time.time(), result={"cost": 3})
    assert stats.of(metrics.JOBS_FAILED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == []
    [(_, tags)] = stats.of(metrics.JOBS_DURATION)
    assert tags == {**TAGS, "outcome": "failed"}


def test_poll_errors_are_tagged_by_api_and_status(stats: RecordingStats) -> None:
    metrics.count_poll_error("Clipia", 503)
    metrics.count_poll_error("Clipwise", None)
    assert stats.of(metrics.POLL_ERRORS) == [
        (1, {"api": "clipia", "status": "503"}),
        (1, {"api": "clipwise", "status": "network"}),
    ]


def test_a_failing_backend_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def incr(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("statsd exploded")

    monkeypatch.setattr(metrics, "Stats", Broken())
    metrics.count_webhook_delivery("accepted")
    assert "clipgen.webhook.deliveries.accepted" in caplog.text
    assert "statsd exploded" in caplog.text


# -- the job flow (operators/_job.py) -------------------------------------------------------------
class Store:
    """``context["task_state_store"]``: get and set, values through JSON as the API stores them."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: Any, retention: Any = None) -> None:
        self.values[name] = json.loads(json.dumps(value))


class FakeJobOperator(ClipgenJobOperator):
    """A paid job whose API is a dict of states; every finished job cost 2.5 credits."""

    ledger_name = "fake_job"
    job_id_xcom_key = "fake_id"
    job_noun = "Fake job"

    def __init__(self, *, states: dict[str, JobState], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states = states
        self.submits = 0

    def submit_job(self, context: Any, idempotency_key: str) -> str:
        self.submits += 1
        job_id = f"job_{len(self.states) + 1}"
        self.states[job_id] = JobState(job_id, "RUNNING", terminal=False, succeeded=False)
        return job_id

    def read_job(self, job_id: str) -> JobState:
        return self.states[job_id]

    def complete_job(self, context: Any, job_id: str) -> dict[str, Any]:
        return {"fake_id": job_id, "cost": 2.5}

    def make_trigger(self, job_id: str, deadline: float | None) -> Any:
        raise AssertionError("these tests resume with an event, no trigger runs")

    def requested(self) -> dict[str, Any]:
        return {"model": "m1"}


def finished(job_id: str, succeeded: bool = True) -> JobState:
    return JobState(job_id, "DONE" if succeeded else "FAILED", terminal=True, succeeded=succeeded)


def event(status: str, job_id: str) -> dict[str, Any]:
    return {"status": status, "job_id": job_id, "remote_status": status.upper(), "message": "m"}


def context(store: Store | None, try_number: int = 1) -> Any:
    ti = SimpleNamespace(
        id=uuid.uuid4(),
        dag_id=DAG_ID,
        task_id="gen",
        run_id="r",
        map_index=-1,
        try_number=try_number,
        xcom_push=lambda key, value: None,
    )
    return {"ti": ti, "task_state_store": store} if store is not None else {"ti": ti}


def operator(states: dict[str, JobState]) -> FakeJobOperator:
    with DAG(DAG_ID, schedule=None):
        return FakeJobOperator(task_id="gen", states=states)


def test_a_job_is_counted_submitted_then_ended_once(stats: RecordingStats) -> None:
    store, states = Store(), dict[str, JobState]()
    job_id, _ = operator(states)._submit_or_resume(context(store))
    assert stats.of(metrics.JOBS_SUBMITTED) == [(1, TAGS)]
    assert store.values["fake_job"]["submitted_at"] <= time.time()

    states[job_id] = finished(job_id)
    resumed = operator(states)  # a new process runs execute_complete after the deferral
    resumed.execute_complete(context(store), event("success", job_id))
    assert stats.of(metrics.JOBS_SUCCEEDED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == [(2.5, TAGS)]
    assert len(stats.of(metrics.JOBS_DURATION)) == 1
    assert "submitted_at" not in store.values["fake_job"], "its end is counted"

    # a later try that finds the job done re-attaches and uses it, without counting its end again
    retry = operator(states)
    retry.execute(context(store, try_number=2))
    assert retry.submits == 0
    assert stats.of(metrics.JOBS_REATTACHED) == [(1, TAGS)]
    assert len(stats.of(metrics.JOBS_SUCCEEDED)) == len(stats.of(metrics.CREDITS_CHARGED)) == 1


def test_a_job_that_ended_while_no_try_watched_is_counted_by_the_retry(stats: RecordingStats) -> None:
    store, states = Store(), dict[str, JobState]()
    job_id, _ = operator(states)._submit_or_resume(context(store))
    states[job_id] = finished(job_id)  # the worker died while waiting; the job finished meanwhile
    operator(states).execute(context(store, try_number=2))
    assert stats.of(metrics.JOBS_SUBMITTED) == [(1, TAGS)]
    assert stats.of(metrics.JOBS_REATTACHED) == [(1, TAGS)]
    assert stats.of(metrics.JOBS_SUCCEEDED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == [(2.5, TAGS)]


def test_a_failed_job_counts_as_failed_and_its_retry_as_a_new_submit(stats: RecordingStats) -> None:
    store, states = Store(), dict[str, JobState]()
    job_id, _ = operator(states)._submit_or_resume(context(store))
    states[job_id] = finished(job_id, succeeded=False)
    with pytest.raises(ClipgenJobFailed):
        operator(states).execute_complete(context(store), event("failed", job_id))
    assert stats.of(metrics.JOBS_FAILED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == []
    [(_, tags)] = stats.of(metrics.JOBS_DURATION)
    assert tags == {**TAGS, "outcome": "failed"}

    retry_job, _ = operator(states)._submit_or_resume(context(store, try_number=2))
    assert retry_job != job_id
    assert len(stats.of(metrics.JOBS_SUBMITTED)) == 2
    assert stats.of(metrics.JOBS_REATTACHED) == [], "a failed job is not taken over"


def test_without_a_task_state_store_the_end_is_counted_without_a_duration(stats: RecordingStats) -> None:
    states: dict[str, JobState] = {}
    job_id, _ = operator(states)._submit_or_resume(context(None))
    states[job_id] = finished(job_id)
    operator(states).execute_complete(context(None), event("success", job_id))
    assert stats.of(metrics.JOBS_SUBMITTED) == stats.of(metrics.JOBS_SUCCEEDED) == [(1, TAGS)]
    assert stats.of(metrics.CREDITS_CHARGED) == [(2.5, TAGS)]
    assert stats.of(metrics.JOBS_DURATION) == []


def test_without_a_task_state_store_a_retry_given_the_earlier_job_back_counts_a_reattach(
    stats: RecordingStats, monkeypatch: pytest.MonkeyPatch
) -> None:
    states: dict[str, JobState] = {}
    job_id, _ = operator(states)._submit_or_resume(context(None))
    retry = operator(states)
    # the API answers the retry's submit, under the task's idempotency key, with the earlier job
    monkeypatch.setattr(retry, "submit_job", lambda context, key: job_id)
    assert retry._submit_or_resume(context(None, try_number=2))[0] == job_id
    assert stats.of(metrics.JOBS_SUBMITTED) == [(1, TAGS)]
    assert stats.of(metrics.JOBS_REATTACHED) == [(1, TAGS)]

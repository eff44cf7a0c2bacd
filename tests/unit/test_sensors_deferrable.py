"""The job sensors in deferrable mode keep ``BaseSensorOperator``'s behaviour: the first poke's
``soft_fail`` / ``never_fail`` / ``silent_fail``, ``timeout`` from the first poke, and
``exponential_backoff`` in the trigger. The job's state is given directly (no API): each test
checks one decision of the flow; the DAG runs against the sandbox are in
``tests/integration/test_sensors_media.py``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from clipgen_provider.exceptions import ClipgenConfigError, ClipiaApiError
from clipgen_provider.jobs import JobState
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor
from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

RUNNING = JobState("req_1", "IN_PROGRESS", terminal=False, succeeded=False, progress=40)
FAILED = JobState("req_1", "FAILED", terminal=True, succeeded=False, error="The prompt is bad")
FAILED_ANSWER = {"request_id": "req_1", "status": "FAILED", "error": {"code": "bad_prompt", "message": "No."}}


def clipia_sensor(
    states: list[Any], answer: Mapping[str, Any] | None = None, **kwargs: Any
) -> ClipiaRequestSensor:
    """A Clipia sensor whose reads return ``states`` in turn (an exception is raised instead)."""
    sensor = ClipiaRequestSensor(task_id="sense", request_id="req_1", deferrable=True, **kwargs)

    def read_job() -> tuple[JobState, Mapping[str, Any] | None]:
        state = states.pop(0)
        if isinstance(state, Exception):
            raise state
        return state, answer if state.terminal else None

    sensor.read_job = read_job  # type: ignore[method-assign]
    return sensor


def test_a_running_job_defers_with_the_deadline_counted_from_the_first_poke() -> None:
    sensor = clipia_sensor([RUNNING], poke_interval=3, timeout=600)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, ClipiaRequestTrigger)
    assert trigger.job_id == "req_1"
    assert trigger.poll_interval == 3
    assert trigger.max_poll_interval is None, "a steady interval without exponential_backoff"
    assert trigger.deadline is not None
    assert before + 600 <= trigger.deadline <= time.time() + 600
    # Airflow's own deferral timeout backs the trigger's deadline up, with a grace period
    assert deferred.value.timeout is not None
    assert 600 < deferred.value.timeout.total_seconds() <= 660


@pytest.mark.parametrize(("max_wait", "ceiling"), [(None, 600.0), (45, 45.0)])
def test_exponential_backoff_lets_the_trigger_double_its_pause_up_to_max_wait(
    max_wait: float | None, ceiling: float
) -> None:
    sensor = clipia_sensor(
        [RUNNING], poke_interval=3, timeout=600, exponential_backoff=True, max_wait=max_wait
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert trigger.max_poll_interval == ceiling
    assert trigger.serialize()[1]["max_poll_interval"] == ceiling  # survives a triggerer restart


def test_the_clipwise_trigger_never_cancels_what_the_sensor_did_not_start() -> None:
    sensor = ClipwiseGenerationSensor(
        task_id="sense", generation_id="gen_1", deferrable=True, poke_interval=2
    )
    running = JobState("gen_1", "processing", terminal=False, succeeded=False)
    sensor.read_job = lambda: (running, {"id": "gen_1", "status": "processing"})  # type: ignore[method-assign]
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, ClipwiseGenerationTrigger)
    assert trigger.cancel_on_kill is False


def test_a_failed_job_fails_the_first_poke_in_the_apis_words() -> None:
    sensor = clipia_sensor([FAILED], FAILED_ANSWER)
    with pytest.raises(
        AirflowFailException, match=r"^Clipia request req_1 ended FAILED: No\. \(bad_prompt\)$"
    ):
        sensor.execute({})


@pytest.mark.parametrize("option", ["soft_fail", "never_fail"])
def test_soft_fail_and_never_fail_skip_a_job_that_failed_before_the_first_poke(option: str) -> None:
    sensor = clipia_sensor([FAILED], FAILED_ANSWER, **{option: True})
    with pytest.raises(AirflowSkipException, match=rf"Skipping due to {option}: .*No\. \(bad_prompt\)"):
        sensor.execute({})


def test_soft_fail_does_not_hide_a_transient_error_of_the_first_poke() -> None:
    """As in ``BaseSensorOperator``: only failures (and timeouts) skip; an outage is retried."""
    outage = ClipiaApiError("down", status_code=503)
    sensor = clipia_sensor([outage], soft_fail=True)
    with pytest.raises(ClipiaApiError):
        sensor.execute({})


def test_silent_fail_logs_a_first_poke_error_and_defers() -> None:
    sensor = clipia_sensor([ClipiaApiError("down", status_code=503)], silent_fail=True)
    with pytest.raises(TaskDeferred):
        sensor.execute({})


def test_never_fail_skips_an_error_of_the_first_poke() -> None:
    sensor = clipia_sensor([ClipiaApiError("down", status_code=503)], never_fail=True)
    with pytest.raises(AirflowSkipException):
        sensor.execute({})


def test_a_timeout_event_is_a_sensor_timeout_which_soft_fail_turns_into_a_skip() -> None:
    event = {"status": "timeout", "job_id": "req_1", "remote_status": "IN_QUEUE", "message": "not finished"}
    with pytest.raises(AirflowSensorTimeout, match="did not finish within the sensor's timeout of 0:01:00"):
        clipia_sensor([], timeout=60).execute_complete({}, event)
    soft = clipia_sensor([], timeout=60, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.resume_execution("execute_complete", {"event": event}, {})


def test_a_failed_event_fails_with_the_apis_reason_or_skips_with_soft_fail() -> None:
    event = {"status": "failed", "job_id": "req_1", "remote_status": "FAILED", "message": "ended FAILED"}
    with pytest.raises(AirflowFailException, match=r"No\. \(bad_prompt\)"):
        clipia_sensor([FAILED], FAILED_ANSWER).execute_complete({}, event)
    soft = clipia_sensor([FAILED], FAILED_ANSWER, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.resume_execution("execute_complete", {"event": event}, {})


@pytest.mark.parametrize("event", [None, {}, {"status": "done"}, "success"])
def test_an_unexpected_event_is_reported(event: Any) -> None:
    with pytest.raises(AirflowException, match="unexpected trigger event"):
        clipia_sensor([]).execute_complete({}, event)


def test_an_output_path_no_filesystem_opens_fails_before_the_first_poke() -> None:
    states: list[Any] = [RUNNING]
    sensor = clipia_sensor(states, output_path="nosuchfs://bucket/media", soft_fail=True)
    with pytest.raises(AirflowFailException, match=r"output_path 'nosuchfs://bucket/media' cannot be opened"):
        sensor.execute({})
    assert states == [RUNNING], "nothing was read"


def test_output_path_is_templated_on_both_sensors() -> None:
    assert "output_path" in ClipiaRequestSensor.template_fields
    assert "output_path" in ClipwiseGenerationSensor.template_fields


def test_no_scheme_is_a_config_error() -> None:
    from clipgen_provider.outputs import check_output_path

    with pytest.raises(ClipgenConfigError, match="has no scheme"):
        check_output_path("relative/folder")

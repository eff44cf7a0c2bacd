"""Every wait has a deadline unless the author asks for none: ``wait_timeout``, else the task's
``execution_timeout``, else ``[clipgen] default_wait_timeout``; one log line says when it ends."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.get_provider_info import get_provider_info
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.waits import DEFAULT_WAIT_TIMEOUT_SECONDS, WaitBound, wait_bound

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def operator(**kwargs: Any) -> ClipiaGenerateOperator:
    return ClipiaGenerateOperator(task_id="gen", model="nano-banana-2", inputs={"prompt": "x"}, **kwargs)


def test_without_any_timeout_the_config_default_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", raising=False)
    assert wait_bound(None, None) == WaitBound(DEFAULT_WAIT_TIMEOUT_SECONDS, "[clipgen] default_wait_timeout")
    monkeypatch.setenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", "900")
    assert wait_bound(None, None).seconds == 900


def test_the_default_is_declared_in_the_providers_config_section() -> None:
    option = get_provider_info()["config"]["clipgen"]["options"]["default_wait_timeout"]
    assert float(option["default"]) == DEFAULT_WAIT_TIMEOUT_SECONDS == 6 * 3600
    assert option["type"] == "float"


def test_wait_timeout_wins_over_execution_timeout_which_wins_over_the_default() -> None:
    assert wait_bound(120, timedelta(hours=1)) == WaitBound(120, "wait_timeout")
    assert wait_bound(None, timedelta(hours=1)) == WaitBound(3600, "the task's execution_timeout")


@pytest.mark.parametrize("unbounded", [math.inf, timedelta.max])
def test_inf_asks_for_no_deadline(unbounded: float | timedelta) -> None:
    bound = wait_bound(unbounded, timedelta(hours=1))
    assert bound.unbounded
    assert bound.deadline() is None


def test_an_infinite_config_default_means_no_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", "inf")
    assert wait_bound(None, None).deadline() is None


@pytest.mark.parametrize("bad", ["0", "-5"])
def test_a_non_positive_config_default_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", bad)
    with pytest.raises(ClipgenConfigError, match=r"\[clipgen\] default_wait_timeout must be a positive"):
        wait_bound(None, None)


@pytest.mark.parametrize("bad", [0, -1, timedelta(0), "soon"])
def test_a_non_positive_wait_timeout_is_refused_when_the_dag_is_parsed(bad: object) -> None:
    with pytest.raises(ClipgenConfigError, match=r'wait_timeout must be a positive .* float\("inf"\)'):
        operator(wait_timeout=bad)


def test_the_deadline_is_logged_as_utc_iso_time_and_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clipgen_provider.waits.time.time", lambda: NOW)
    monkeypatch.delenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", raising=False)
    with capture_logs() as logs:
        deadline = operator()._deadline()
    assert deadline == NOW + 6 * 3600
    assert [entry["event"] for entry in logs] == [
        "The wait ends at 2027-01-15T14:00:00Z, in 6:00:00 ([clipgen] default_wait_timeout); if the job "
        "is still running then, the task fails with a timeout."
    ]


def test_an_unbounded_wait_says_so_in_the_log() -> None:
    with capture_logs() as logs:
        assert operator(wait_timeout=float("inf"))._deadline() is None
    assert [entry["event"] for entry in logs] == [
        "The wait has no deadline (wait_timeout); it lasts until the job ends."
    ]

"""A wait is bounded by default (``[clipgen] default_wait_timeout``) and unbounded only on request."""

from __future__ import annotations

import pytest

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.sandbox.server import SandboxServer
from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db", "clipia_conn")


def test_the_config_default_bounds_a_wait_that_sets_no_timeout(
    sandbox: SandboxServer, clipia_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", "1")
    sandbox.hold(clipia_conn, progress=0)  # the job runs on past the timeout, however slow the machine
    try:
        outcome = run_dag("wait_bound_default")
        # read before the release: the request was left running, not cancelled
        status = ClipiaHook().get_status(outcome.value("slow", "request_id"))["status"]
    finally:
        sandbox.release(clipia_conn)
    assert outcome.task_states["slow"] == "failed"
    assert status == "IN_PROGRESS"


def test_wait_timeout_inf_asks_for_no_deadline(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CLIPGEN__DEFAULT_WAIT_TIMEOUT", "1")
    sandbox.update_settings(run_seconds=2.5)
    try:
        outcome = run_dag("wait_bound_unbounded")
    finally:
        sandbox.update_settings(run_seconds=0.8)
    assert outcome.state == "success", outcome.task_states
    assert outcome.value("patient")["status"] == "COMPLETED"

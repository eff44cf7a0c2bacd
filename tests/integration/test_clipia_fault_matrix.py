"""The fault matrix: every transient failure the API can throw, on the real code paths.

Each case injects the fault into the sandbox and checks the hook (or a deferred task) comes
through with exactly one request created.
"""

from __future__ import annotations

import time

import pytest

from clipgen_provider.exceptions import ClipiaApiError
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.results import ClipiaSubmitAnswer
from tests.integration.dagrun import run_dag

FAST_RETRY = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
def hook(clipia_conn) -> ClipiaHook:
    return ClipiaHook(retry=FAST_RETRY, timeout=1.0)


def submit_once(hook: ClipiaHook, sandbox, key: str) -> ClipiaSubmitAnswer:
    submitted = hook.submit("nano-banana-2", {"prompt": "fault matrix"})
    assert hook.get_account()["usage_30d"]["requests"] == 1
    return submitted


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_burst_of_server_errors_on_submit(hook, sandbox, clipia_conn, status):
    sandbox.add_fault(method="POST", path="/v1/models/", api_key=clipia_conn, status=status, times=3)
    submit_once(hook, sandbox, clipia_conn)


def test_connection_reset(hook, sandbox, clipia_conn):
    sandbox.add_fault(method="POST", path="/v1/models/", api_key=clipia_conn, reset=True, times=2)
    submit_once(hook, sandbox, clipia_conn)


def test_answer_slower_than_the_client_timeout(hook, sandbox, clipia_conn):
    sandbox.add_fault(method="GET", path="/v1/account", api_key=clipia_conn, delay_seconds=2.5, times=1)
    assert hook.get_account()["balance"]["credits"] > 0
    # the slow answer is logged once the server finishes it: then both attempts are on record
    deadline = time.monotonic() + 10
    while (
        len(calls := sandbox.calls(api_key=clipia_conn, path="/v1/account")) < 2
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert [c["fault"] is not None for c in calls] == [False, True]


def test_slow_submit_resolves_to_the_same_request(hook, sandbox, clipia_conn):
    """The first submit times out on the client but is created on the server; the retry dedups."""
    sandbox.add_fault(method="POST", path="/v1/models/", api_key=clipia_conn, delay_seconds=2.5, times=1)
    submit_once(hook, sandbox, clipia_conn)


@pytest.mark.parametrize("body", ["<html>oops</html>", '{"request_id": "r", "stat'])
def test_malformed_and_truncated_json(hook, sandbox, clipia_conn, body):
    sandbox.add_fault(method="GET", path="/v1/account", api_key=clipia_conn, body=body, times=2)
    assert hook.get_account()["balance"]["credits"] > 0


def test_errors_that_never_stop_surface_as_transient(hook, sandbox, clipia_conn):
    sandbox.add_fault(method="GET", path="/v1/account", api_key=clipia_conn, status=503, times=50)
    with pytest.raises(ClipiaApiError) as err:
        hook.get_account()
    assert err.value.is_transient
    sandbox.clear_faults()


@pytest.mark.usefixtures("airflow_db")
def test_deferred_wait_survives_a_burst_of_status_errors(sandbox, clipia_conn):
    sandbox.add_fault(method="GET", path_regex=r"/status$", api_key=clipia_conn, status=503, times=3)
    outcome = run_dag("clipia_speech_deferred")
    assert outcome.state == "success", outcome.task_states
    statuses = [c["status"] for c in sandbox.calls(api_key=clipia_conn, path="/v1/requests/")]
    assert statuses.count(503) == 3
    assert len(sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/")) == 1

"""Webhooks on a real Airflow 3 deployment: signed sandbox deliveries to real API servers.

Every test runs a real DAG (``tests/system/dags/webhook_scenarios.py``) through the scheduler,
a LocalExecutor worker and a triggerer, against the sandbox, and checks three things: the task
ends in the right state, it was resumed the way the scenario says (``via``: ``push`` by the
receiver, ``mailbox`` or ``poll`` by the trigger), and nothing was submitted or charged twice.
No test sleeps a fixed time: each waits on a state with a deadline.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from tests.system.cluster import wait_until
from tests.system.scenario import SECRET, Scenario

from clipgen_provider.webhooks.receiver import delivery_path
from clipgen_provider.webhooks.signature import SIGNATURE_HEADER, sign

pytestmark = pytest.mark.timeout(600)


def post_signed(url: str, body: bytes, *, timestamp: int | None = None) -> httpx.Response:
    """POST ``body`` to ``url`` signed with the sandbox's secret, as Clipia would."""
    headers = {SIGNATURE_HEADER: sign(body, SECRET, timestamp), "Content-Type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=30)


def delivery(request_id: str, status: str = "OK") -> bytes:
    return json.dumps({"request_id": request_id, "status": status, "payload": {}, "error": None}).encode()


def only_delivery(s: Scenario, request_id: str, **expected: Any) -> dict[str, Any]:
    """Wait for the one webhook attempt of ``request_id``; check its fields against ``expected``."""
    attempts = wait_until(f"the webhook of {request_id}", lambda: s.deliveries(request_id), 60)
    assert len(attempts) == 1, attempts
    assert {k: attempts[0][k] for k in expected} == expected
    return attempts[0]


def assert_single_paid_request(s: Scenario, run_id: str, dag_id: str = "clipgen_webhook") -> str:
    """One submit, one generation on the account, and it is the request the task reports."""
    request_id = s.xcom(run_id, "request_id", dag_id)
    assert len(s.submits()) == 1
    assert s.requests_charged() == 1
    assert s.xcom(run_id, "return_value", dag_id)["request_id"] == request_id
    return str(request_id)


# -- the normal path and its variants -------------------------------------------------------------
def test_signed_delivery_resumes_the_deferred_task_at_once(scenario: Scenario) -> None:
    run_id = scenario.run()
    ti = scenario.finish(run_id)
    calls = [(c["method"], c["path"].rsplit("/", 1)[0]) for c in scenario.api_calls()]
    assert calls == [("POST", "/v1/models"), ("GET", "/v1/requests")], "submit and one result GET, no poll"
    request_id = assert_single_paid_request(scenario, run_id)
    event = scenario.xcom(run_id, "event")
    assert (event["status"], event["job_id"], event["via"]) == ("success", request_id, "push")
    box = scenario.xcom(run_id, "clipia_webhook")
    assert (box["state"], box["request_id"], box["ti_id"]) == ("delivered", request_id, ti["id"])
    attempt = only_delivery(scenario, request_id, status_code=200)
    assert attempt["url"] == scenario.cluster.api_url(0) + delivery_path(ti["id"])


def test_delivery_before_the_trigger_starts_is_found_in_the_mailbox(scenario: Scenario) -> None:
    scenario.sandbox.update_settings(run_seconds=0.5)
    run_id = scenario.run(hold_until_delivered=True)  # the task defers only once the webhook landed
    scenario.finish(run_id)
    request_id = assert_single_paid_request(scenario, run_id)
    assert scenario.xcom(run_id, "event")["via"] == "mailbox"
    only_delivery(scenario, request_id, status_code=200)


def test_lost_delivery_falls_back_to_the_status_poll(scenario: Scenario) -> None:
    scenario.fault(webhook="drop")
    run_id = scenario.run("clipgen_webhook_lossy")
    scenario.finish(run_id, "clipgen_webhook_lossy")
    request_id = assert_single_paid_request(scenario, run_id, "clipgen_webhook_lossy")
    assert scenario.xcom(run_id, "event", "clipgen_webhook_lossy")["via"] == "poll"
    assert scenario.xcom(run_id, "clipia_webhook", "clipgen_webhook_lossy")["state"] == "waiting"
    only_delivery(scenario, request_id, fault="drop", status_code=None)


def test_duplicate_delivery_resumes_the_task_once(scenario: Scenario) -> None:
    scenario.fault(webhook="duplicate")
    run_id = scenario.run()
    ti = scenario.finish(run_id)
    request_id = assert_single_paid_request(scenario, run_id)
    assert (ti["try_number"], scenario.xcom(run_id, "event")["via"]) == (1, "push")
    attempts = wait_until("both copies", lambda: len(scenario.deliveries(request_id)) == 2 or None, 60)
    assert attempts
    assert [a["status_code"] for a in scenario.deliveries(request_id)] == [200, 200]
    again = post_signed(scenario.cluster.api_url(0) + delivery_path(ti["id"]), delivery(request_id))
    assert (again.status_code, again.json()) == (200, {"result": "duplicate"})


# -- deliveries that must not count --------------------------------------------------------------
def test_forged_signature_is_refused_and_the_poll_finishes(scenario: Scenario) -> None:
    scenario.fault(webhook="forge")
    run_id = scenario.run("clipgen_webhook_lossy")
    scenario.finish(run_id, "clipgen_webhook_lossy")
    request_id = assert_single_paid_request(scenario, run_id, "clipgen_webhook_lossy")
    assert scenario.xcom(run_id, "event", "clipgen_webhook_lossy")["via"] == "poll"
    assert scenario.xcom(run_id, "clipia_webhook", "clipgen_webhook_lossy")["state"] == "waiting"
    attempts = wait_until("all retries", lambda: len(scenario.deliveries(request_id)) == 4 or None, 60)
    assert attempts
    assert {a["status_code"] for a in scenario.deliveries(request_id)} == {401}


def test_stale_signature_and_oversized_body_are_refused(scenario: Scenario) -> None:
    run_id = scenario.run()
    ti = scenario.cluster.wait_for_state("clipgen_webhook", run_id, "generate", ["deferred"])
    url = scenario.cluster.api_url(0) + delivery_path(ti["id"])
    stale = post_signed(url, delivery("req_stale"), timestamp=int(time.time()) - 3600)
    assert (stale.status_code, stale.json()) == (401, {"result": "rejected"})
    huge = post_signed(url, delivery("req_huge") + b" " * (300 * 1024))
    assert (huge.status_code, huge.json()) == (413, {"result": "too_large"})
    scenario.finish(run_id)
    request_id = assert_single_paid_request(scenario, run_id)
    event = scenario.xcom(run_id, "event")
    assert (event["job_id"], event["via"]) == (request_id, "push")
    assert scenario.xcom(run_id, "clipia_webhook")["request_id"] == request_id


# -- retries --------------------------------------------------------------------------------------
def test_delivery_for_an_earlier_try_is_ignored(scenario: Scenario) -> None:
    scenario.sandbox.update_settings(run_seconds=0.5)
    scenario.fault(webhook="delay", delay_seconds=20.0)  # the first try's webhook arrives after it failed
    run_id = scenario.run("clipgen_webhook_retry", fail_first_try=True)
    ti = scenario.finish(run_id, "clipgen_webhook_retry")
    assert ti["try_number"] == 2
    first, second = (call["idempotency_key"] for call in scenario.submits())
    assert second == f"{first}:try2", "the failed request is not reused; the new one has a try-scoped key"
    request_id = scenario.xcom(run_id, "request_id", "clipgen_webhook_retry")
    assert scenario.xcom(run_id, "event", "clipgen_webhook_retry")["job_id"] == request_id
    box = scenario.xcom(run_id, "clipia_webhook", "clipgen_webhook_retry")
    assert (box["ti_id"], box["request_id"]) == (ti["id"], request_id)
    second_attempt = only_delivery(scenario, request_id, status_code=200)
    (failed_id,) = _requests_read(scenario) - {request_id}  # the first try read its failure
    late = only_delivery(scenario, failed_id, status_code=200, fault="delay")
    assert late["url"] != second_attempt["url"]
    replay = post_signed(late["url"], delivery(failed_id, "ERROR"))
    assert (replay.status_code, replay.json()) == (200, {"result": "ignored"})
    assert scenario.cluster.task_instance("clipgen_webhook_retry", run_id, "generate")["state"] == "success"


def _requests_read(scenario: Scenario) -> set[str]:
    """The request ids this test's key read (status or result) from the sandbox."""
    paths = [call["path"] for call in scenario.sandbox.calls(api_key=scenario.api_key, path="/v1/requests/")]
    return {path.split("/")[3] for path in paths}


def test_crash_after_submit_resubmits_the_same_request(scenario: Scenario) -> None:
    scenario.sandbox.update_settings(run_seconds=0.5)
    run_id = scenario.run("clipgen_webhook_retry", crash_after_submit=True)
    ti = scenario.finish(run_id, "clipgen_webhook_retry")
    assert ti["try_number"] == 2
    submits = scenario.submits()
    assert len(submits) == 2
    assert submits[0]["idempotency_key"] == submits[1]["idempotency_key"]
    assert [s["status"] for s in submits] == [200, 200]
    assert scenario.requests_charged() == 1, "the resubmit resolved to the first request: no second charge"
    request_id = scenario.xcom(run_id, "request_id", "clipgen_webhook_retry")
    attempt = only_delivery(scenario, request_id, status_code=200)
    assert ti["id"] not in attempt["url"], "its webhook went to the crashed try, which ignores it"
    assert scenario.xcom(run_id, "event", "clipgen_webhook_retry")["via"] == "poll"


# -- high availability (last: it kills a triggerer) -------------------------------------------------
def test_delivery_to_the_other_api_server_after_the_triggers_triggerer_died(new_scenario: Any) -> None:
    scenario: Scenario = new_scenario(api_server=1)
    cluster = scenario.cluster
    scenario.fault(webhook="delay", delay_seconds=8.0)  # lands well after the triggerer is gone
    run_id = scenario.run()

    def held_trigger() -> int | None:
        ti = cluster.task_instance("clipgen_webhook", run_id, "generate")
        trigger = ti.get("trigger") or {}
        return trigger.get("triggerer_id") if ti["state"] == "deferred" else None

    triggerer = cluster.triggerer_jobs[wait_until("a triggerer to take the trigger", held_trigger, 60)]
    triggerer.kill()
    assert not triggerer.alive
    assert any(c.alive for c in cluster.triggerer_jobs.values())
    ti = scenario.finish(run_id)
    request_id = assert_single_paid_request(scenario, run_id)
    assert scenario.xcom(run_id, "event")["via"] == "push"
    attempt = only_delivery(scenario, request_id, status_code=200, fault="delay")
    assert attempt["url"] == cluster.api_url(1) + delivery_path(ti["id"])

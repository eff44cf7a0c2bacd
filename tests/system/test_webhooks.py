"""Webhooks on a real Airflow 3 deployment: signed sandbox deliveries to real API servers.

Every scenario runs a real DAG (``tests/system/dags/webhook_scenarios.py``) through the
scheduler, a LocalExecutor worker and a triggerer, against the sandbox. Each test checks that
its task ended in the right state, that it was resumed the way the scenario says (``via``:
``push`` by the receiver, ``mailbox`` or ``poll`` by the trigger), and that nothing was submitted
or charged twice. The scenarios have their own keys, so they run at the same time: all are
started first, then each test waits for its own (states with deadlines, never a fixed sleep).
The high-availability test kills a triggerer, so it runs alone, last.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from tests.system.cluster import AirflowCluster, wait_until
from tests.system.scenario import SECRET, WEBHOOK_ATTEMPTS, Scenario

from clipgen_provider.sandbox.server import SandboxServer
from clipgen_provider.webhooks.addressing import delivery_path

pytestmark = pytest.mark.timeout(600)

#: name -> (DAG, run conf, sandbox webhook fault for the scenario's key)
SCENARIOS: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    "push": ("clipgen_webhook", {}, None),
    "early": ("clipgen_webhook", {"hold_until_delivered": True}, None),
    "lost": ("clipgen_webhook_lossy", {}, {"webhook": "drop"}),
    "duplicate": ("clipgen_webhook", {}, {"webhook": "duplicate"}),
    "forged": ("clipgen_webhook_lossy", {}, {"webhook": "forge"}),
    "refused": ("clipgen_webhook", {}, None),
    # the first try fails; its webhook, held back, arrives once the second try runs
    "earlier_try": (
        "clipgen_webhook_retry",
        {"fail_first_try": True},
        {"webhook": "delay", "delay_seconds": 25.0},
    ),
    "crash": ("clipgen_webhook_retry", {"crash_after_submit": True}, None),
}


@pytest.fixture(scope="module")
def started(cluster: AirflowCluster, webhook_sandbox: SandboxServer) -> dict[str, Scenario]:
    """Every scenario above, started at once."""
    scenarios: dict[str, Scenario] = {}
    for name, (dag_id, conf, fault) in SCENARIOS.items():
        scenario = Scenario.create(cluster, webhook_sandbox, name)
        if fault:
            scenario.fault(**fault)
        scenarios[name] = scenario.start(dag_id, **conf)
    return scenarios


def post_signed(url: str, body: bytes, *, timestamp: int | None = None) -> httpx.Response:
    """POST ``body`` to ``url`` signed with the sandbox's secret, as Clipia would."""
    from clipgen_provider.webhooks.signature import SIGNATURE_HEADER, sign

    headers = {SIGNATURE_HEADER: sign(body, SECRET, timestamp), "Content-Type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=30)


def delivery(request_id: str, status: str = "OK") -> bytes:
    return json.dumps({"request_id": request_id, "status": status, "payload": {}, "error": None}).encode()


def attempts(s: Scenario, request_id: str, count: int = 1, status: int | None = 200) -> list[dict[str, Any]]:
    """Wait for ``count`` webhook attempts of ``request_id`` answered ``status``; return them.

    Attempts the sandbox could not complete (a client timeout on a busy machine) are retried by it
    and not counted; ``status=None`` counts every attempt.
    """

    def answered() -> list[dict[str, Any]]:
        return [a for a in s.deliveries(request_id) if status is None or a["status_code"] == status]

    wait_until(f"{count} webhook attempt(s) of {request_id}", lambda: len(answered()) >= count, 90)
    found = answered()
    assert len(found) == count, s.deliveries(request_id)
    return found


def single_paid_request(s: Scenario) -> str:
    """One submit, one generation on the account, and it is the request the task reports."""
    request_id = str(s.xcom("request_id"))
    assert len(s.submits()) == 1
    assert s.requests_charged() == 1
    assert s.xcom("return_value")["request_id"] == request_id
    return request_id


# -- first, while its task still waits: refused deliveries ----------------------------------------
def test_stale_signature_and_oversized_body_are_refused(started: dict[str, Scenario]) -> None:
    s = started["refused"]
    wait_until("its mailbox", lambda: s.xcom("clipia_webhook"), 120)  # opened before the submit
    ti = s.task_instance()
    url = s.cluster.api_url(0) + delivery_path(ti["id"])
    stale = post_signed(url, delivery("req_stale"), timestamp=int(time.time()) - 3600)
    assert (stale.status_code, stale.json()) == (401, {"result": "rejected"})
    huge = post_signed(url, delivery("req_huge") + b" " * (300 * 1024))
    assert (huge.status_code, huge.json()) == (413, {"result": "too_large"})
    s.finish()
    request_id = single_paid_request(s)
    event = s.xcom("event")
    assert (event["job_id"], event["via"]) == (request_id, "push")
    assert s.xcom("clipia_webhook")["request_id"] == request_id


# -- the normal path and its variants -------------------------------------------------------------
def test_signed_delivery_resumes_the_deferred_task_at_once(started: dict[str, Scenario]) -> None:
    s = started["push"]
    ti = s.finish()
    calls = [(c["method"], c["path"].rsplit("/", 1)[0]) for c in s.api_calls()]
    assert calls == [("POST", "/v1/models"), ("GET", "/v1/requests")], "submit and one result GET, no poll"
    request_id = single_paid_request(s)
    event = s.xcom("event")
    assert (event["status"], event["job_id"], event["via"]) == ("success", request_id, "push")
    box = s.xcom("clipia_webhook")
    assert (box["state"], box["request_id"], box["ti_id"]) == ("delivered", request_id, ti["id"])
    (attempt,) = attempts(s, request_id)
    assert attempt["url"] == s.cluster.api_url(0) + delivery_path(ti["id"])


def test_delivery_before_the_trigger_starts_is_found_in_the_mailbox(started: dict[str, Scenario]) -> None:
    s = started["early"]  # its task defers only once the sandbox has delivered the webhook
    s.finish()
    request_id = single_paid_request(s)
    assert s.xcom("event")["via"] == "mailbox"
    attempts(s, request_id)


def test_lost_delivery_falls_back_to_the_status_poll(started: dict[str, Scenario]) -> None:
    s = started["lost"]
    s.finish()
    request_id = single_paid_request(s)
    assert s.xcom("event")["via"] == "poll"
    assert s.xcom("clipia_webhook")["state"] == "waiting"
    (attempt,) = attempts(s, request_id, status=None)
    assert (attempt["fault"], attempt["status_code"]) == ("drop", None)


def test_duplicate_delivery_resumes_the_task_once(started: dict[str, Scenario]) -> None:
    s = started["duplicate"]
    ti = s.finish()
    request_id = single_paid_request(s)
    assert (ti["try_number"], s.xcom("event")["via"]) == (1, "push")
    attempts(s, request_id, count=2)
    again = post_signed(s.cluster.api_url(0) + delivery_path(ti["id"]), delivery(request_id))
    assert (again.status_code, again.json()) == (200, {"result": "duplicate"})


# -- deliveries that must not count --------------------------------------------------------------
def test_forged_signature_is_refused_and_the_poll_finishes(started: dict[str, Scenario]) -> None:
    s = started["forged"]
    s.finish()
    request_id = single_paid_request(s)
    assert s.xcom("event")["via"] == "poll"
    assert s.xcom("clipia_webhook")["state"] == "waiting"
    refused = attempts(s, request_id, count=WEBHOOK_ATTEMPTS, status=None)
    assert {a["status_code"] for a in refused} <= {401, None}, "never accepted"
    assert 401 in {a["status_code"] for a in refused}


# -- retries ---------------------------------------------------------------------------------------
def test_delivery_for_an_earlier_try_is_ignored(started: dict[str, Scenario]) -> None:
    s = started["earlier_try"]
    ti = s.finish()
    assert ti["try_number"] == 2
    first, second = (call["idempotency_key"] for call in s.submits())
    assert second == f"{first}:try2", "the failed request is not reused; the new one has a try-scoped key"
    request_id = str(s.xcom("request_id"))
    assert s.xcom("event")["job_id"] == request_id
    box = s.xcom("clipia_webhook")
    assert (box["ti_id"], box["request_id"]) == (ti["id"], request_id)
    (current,) = attempts(s, request_id)
    (failed_id,) = s.requests_read() - {request_id}  # the first try read its failure
    (late,) = attempts(s, failed_id)
    assert late["fault"] == "delay"
    assert late["url"] != current["url"]
    replay = post_signed(late["url"], delivery(failed_id, "ERROR"))
    assert (replay.status_code, replay.json()) == (200, {"result": "ignored"})
    assert s.task_instance()["state"] == "success"
    assert s.xcom("clipia_webhook") == box, "the late delivery changed nothing"


def test_crash_after_submit_resubmits_the_same_request(started: dict[str, Scenario]) -> None:
    s = started["crash"]
    ti = s.finish()
    assert ti["try_number"] == 2
    submits = s.submits()
    assert [call["status"] for call in submits] == [200, 200]
    assert submits[0]["idempotency_key"] == submits[1]["idempotency_key"]
    assert s.requests_charged() == 1, "the resubmit resolved to the first request: no second charge"
    request_id = str(s.xcom("request_id"))
    (attempt,) = attempts(s, request_id)
    assert ti["id"] not in attempt["url"], "its webhook went to the crashed try, which ignored it"
    assert s.xcom("event")["via"] == "poll"


# -- high availability (last: it kills a triggerer) -----------------------------------------------
@pytest.fixture
def on_second_api_server(
    started: dict[str, Scenario], cluster: AirflowCluster, webhook_sandbox: SandboxServer
) -> Scenario:
    """A scenario whose webhooks go to the second API server, started once the others ended; its
    job held in progress until the test released it (the triggerer holding its trigger is dead by
    then, however loaded the machine)."""
    for other in started.values():
        other.wait_for("success", "failed", timeout=300)
    scenario = Scenario.create(cluster, webhook_sandbox, "ha", api_server=1).hold(progress=50)
    return scenario.fault(webhook="delay", delay_seconds=8.0)  # lands well after the triggerer died


def test_delivery_to_the_other_api_server_after_the_triggers_triggerer_died(
    on_second_api_server: Scenario,
) -> None:
    s = on_second_api_server.start()
    cluster = s.cluster

    def holding_triggerer() -> int | None:
        ti = s.task_instance()
        return (ti.get("trigger") or {}).get("triggerer_id") if ti["state"] == "deferred" else None

    try:
        triggerer = cluster.triggerer_jobs[
            wait_until("a triggerer to take the trigger", holding_triggerer, 90)
        ]
        triggerer.kill()
    finally:
        s.release()
    assert not triggerer.alive
    assert any(c.alive for c in cluster.triggerer_jobs.values())
    ti = s.finish()
    request_id = single_paid_request(s)
    assert s.xcom("event")["via"] == "push"
    (attempt,) = attempts(s, request_id)
    assert attempt["fault"] == "delay"
    assert attempt["url"] == cluster.api_url(1) + delivery_path(ti["id"])

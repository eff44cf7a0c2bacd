"""A triggerer dies while it holds a polling generation's trigger: another one finishes the wait.

The deployment's two triggerers share the triggers; when the one holding a trigger stops
heartbeating, Airflow hands the trigger to the other (after ``triggerer_health_check_threshold``,
30 s by default). The trigger is rebuilt from its serialized kwargs and polls the same request:
the task succeeds on its first try, and the request is submitted and charged once. The killed
triggerer is replaced afterwards, so later tests find the deployment whole.

The sandbox holds the job in progress until the surviving triggerer has polled it: a job that ended
before the hand-over (a loaded machine) would leave no deferred task to see or no poll to wait for.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.system.cluster import AirflowCluster, wait_until
from tests.system.scenario import Scenario

from clipgen_provider.sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(420)


def test_a_trigger_whose_triggerer_died_finishes_on_the_other_without_resubmitting(
    cluster: AirflowCluster, webhook_sandbox: SandboxServer
) -> None:
    s = Scenario.create(cluster, webhook_sandbox, "triggerer_crash").hold(progress=50)

    def holding_triggerer() -> int | None:
        ti = s.task_instance()
        return (ti.get("trigger") or {}).get("triggerer_id") if ti["state"] == "deferred" else None

    def later_polls() -> list[dict[str, str]]:
        return [
            call
            for call in s.api_calls()
            if call["path"].endswith("/status") and datetime.fromisoformat(call["time"]) > killed_at
        ]

    try:
        s.start("clipgen_polled")
        holder = cluster.triggerer_jobs[wait_until("a triggerer to take the trigger", holding_triggerer, 90)]
        holder.kill()
        killed_at = datetime.now().astimezone()
        try:
            wait_until("the surviving triggerer to poll the held job", later_polls, 300, interval=1.0)
        finally:
            s.release()
            cluster.replace_triggerer(holder)
        ti = s.finish(timeout=300)
    finally:
        s.release()

    assert ti["try_number"] == 1, "the wait moved; the task was not retried"
    assert len(s.submits()) == 1
    assert s.requests_charged() == 1
    assert later_polls(), "the surviving triggerer polled the same request"
    assert s.requests_read() == {s.xcom("request_id")}

"""A Celery worker SIGKILLed between submit and defer: the task is retried, and paid for once.

The first try of ``clipgen_worker_crash`` submits its generation, then holds its worker slot
before the ledger records the request id and before it defers. The test kills that worker's
whole process tree with SIGKILL (the Celery main process, its pool, the task supervisor and the
task process: nothing gets to report anything), as a lost machine would. The scheduler finds the
task without a heartbeat, fails the try and retries it on the other worker; the retry resubmits
with the same idempotency key, so the sandbox returns the same request and charges nothing more.
"""

from __future__ import annotations

import psutil
import pytest

from clipgen_provider.sandbox.server import SandboxServer
from tests.production.cluster import ProductionCluster
from tests.system.cluster import wait_until
from tests.system.scenario import Scenario

pytestmark = pytest.mark.timeout(900)


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_worker_sigkilled_after_submit_is_retried_with_one_charge(
    full_strength: ProductionCluster, webhook_sandbox: SandboxServer
) -> None:
    cluster = full_strength
    s = Scenario.create(cluster, webhook_sandbox, "worker_crash")
    s.start("clipgen_worker_crash", hold_after_submit=True)

    wait_until("the first try to submit", lambda: len(s.submits()) == 1, 300)
    first = s.wait_for("running", timeout=60)
    assert first["try_number"] == 1
    assert first["pid"]
    worker = wait_until("the worker running the held task", lambda: cluster.worker_running(first["pid"]), 30)
    survivor = next(c for name, c in cluster.latest.items() if name.startswith("worker-") and c is not worker)
    killed = cluster.crash(worker)
    assert not worker.alive
    assert first["pid"] in killed, "the task process is in the tree killed"
    wait_until("the task process to be gone", lambda: gone(first["pid"]), 30)

    ti = s.finish(timeout=300)
    assert ti["try_number"] == 2
    tries = cluster.tries(s.dag_id, s.run_id, "generate")
    assert tries[0]["state"] in ("failed", "up_for_retry")
    assert tries[-1]["state"] == "success"
    assert s.run_id in "".join(
        line for line in survivor.log_path.read_text(errors="replace").splitlines() if "try_number=2" in line
    ), "the retry ran on the other worker"

    submits = s.submits()
    assert [call["status"] for call in submits] == [200, 200]
    assert submits[0]["idempotency_key"] == submits[1]["idempotency_key"]
    assert s.requests_charged() == 1, "the resubmit resolved to the first request: no second charge"
    request_id = str(s.xcom("request_id"))
    assert s.xcom("return_value")["request_id"] == request_id
    assert s.xcom("event")["via"] == "poll", "its webhook went to the killed try, so the retry polled"
    delivered = [a for a in s.deliveries(request_id) if a["status_code"] == 200]
    assert delivered
    assert all(first["id"] in a["url"] for a in delivered)

    assert cluster.revive() == [worker.name]
    cluster.wait_for_workers()

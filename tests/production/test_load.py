"""A small load through the production cluster: 50 webhook-driven generations at once.

The same engine as the 500-generation load run (``python -m tests.production.load_run``), small
enough for CI. Every generation must succeed, be submitted and charged exactly once, get exactly
one accepted delivery at the API server its connection names (both serve), and be resumed by
that delivery (``push``); both Celery workers must have run some of the tasks. The figures
(latency, database load) are printed, not asserted: they depend on the machine.
"""

from __future__ import annotations

import json

import pytest

from clipgen_provider.sandbox.server import SandboxServer
from tests.production.cluster import ProductionCluster
from tests.production.load import DAG_ID, run_load

pytestmark = pytest.mark.timeout(900)

GENERATIONS = 50


def test_small_webhook_load_runs_green_and_pays_once(
    full_strength: ProductionCluster, load_sandbox: SandboxServer
) -> None:
    cluster = full_strength
    figures = run_load(cluster, load_sandbox, GENERATIONS, baseline_seconds=20.0, timeout=600.0)
    request_ids = figures.pop("request_ids")
    print(json.dumps(figures, indent=2))

    assert figures["run_state"] == "success"
    assert figures["task_states"] == {"success": GENERATIONS}
    assert len(set(request_ids)) == GENERATIONS
    assert figures["submits"] == GENERATIONS, "no task submitted twice"
    assert figures["distinct_idempotency_keys"] == GENERATIONS
    assert figures["account_requests"] == GENERATIONS, "charged exactly once per generation"
    assert figures["account_credits_spent"] == 4.0 * GENERATIONS  # nano-banana-2: 4 credits per image
    assert figures["requests_with_one_accepted_delivery"] == GENERATIONS
    assert figures["deliveries_per_api_server"] == {"0": GENERATIONS // 2, "1": GENERATIONS // 2}
    assert figures["resumed_via"] == {"push": GENERATIONS}
    assert figures["resume_latency_seconds"]["count"] == GENERATIONS
    assert figures["peak_in_flight"] > GENERATIONS // 2, "the generations overlapped"
    assert figures["receiver"]["requests_by_status"] == {"200": GENERATIONS}
    assert figures["receiver"]["statements_per_delivery"], "the probe saw the receiver's statements"
    run_id = figures["run_id"]
    for index in range(cluster.worker_count):
        assert cluster.worker_log_lines(index, f"run_id='{run_id}'") > 0, (
            f"worker {index} ran none of {DAG_ID}"
        )

"""The benchmark's webhook-mode step at its smallest: one job per scheduler setting, on real deployments.

``make bench`` measures webhook resume latency and API calls per job with
:func:`bench.webhook_mode.measure_webhook_mode`, which runs ``tests.system.bench_webhook_latency``
(sandbox, API server, scheduler, triggerer, DAG processor) once with the recommended scheduler
setting and once with Airflow's default. The benchmark's smoke run (``tests/bench``) has no real
deployment, so this step is checked here, with the other tests that start one.
"""

from __future__ import annotations

import pytest
from bench.webhook_mode import RECOMMENDED_IDLE_SLEEP, measure_webhook_mode

#: two deployments started one after the other, one short job each
pytestmark = pytest.mark.timeout(900)


def test_one_webhook_job_per_setting_is_resumed_by_its_delivery() -> None:
    figures = measure_webhook_mode(jobs=1, job_seconds=1.0)

    assert "error" not in figures, figures
    assert figures["failed"] == 0, figures
    # submit and result: the delivery replaced every status poll
    assert figures["api_calls_per_job"] == 2, figures
    assert figures["by_kind"] == {"submit": 1.0, "result": 1.0}, figures
    assert figures["resumed_via"] == {"push": 1}, figures
    assert figures["scheduler_idle_sleep_time"] == float(RECOMMENDED_IDLE_SLEEP)
    assert figures["latency_seconds"]["p95"] > 0, figures
    default = figures["default_scheduler"]
    assert default.get("error") is None, default
    assert default["latency_seconds"]["p95"] > 0, default

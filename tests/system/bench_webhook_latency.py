"""Measure webhook resume latency and API calls per job on a real Airflow deployment.

Run from the repository root (takes about four minutes)::

    .venv/bin/python -m tests.system.bench_webhook_latency --jobs 20 --polled 5

It starts the sandbox and a deployment (API server, scheduler, triggerer, DAG processor; SQLite,
LocalExecutor), then starts ``--jobs`` webhook-driven runs of ``clipgen_webhook`` and ``--polled``
polled runs of ``clipgen_polled`` (status poll every 5 s), ``--spacing`` seconds apart. For each
webhook job it reports the latency from the delivery being received (``received_at``, stamped by
the receiver once the signature checked out) to ``execute_complete`` starting (``resumed_at``,
stamped by the test DAG), split at the task's ``scheduled_when`` and ``queued_when``, and for both
kinds the Clipia API calls per job from the sandbox's log.
Jobs run ``--run-seconds`` (longer than the resume settle time, so the push is not held back).
``--setting SECTION__KEY=VALUE`` passes an Airflow setting to every component.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.system.cluster import AirflowCluster
from tests.system.scenario import DAG_IDS, SECRET, Scenario

from clipgen_provider.sandbox.server import SandboxServer


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def calls_per_job(scenario: Scenario, jobs: int) -> dict[str, float]:
    """Clipia calls of ``scenario``'s key, per job and by kind (submit, status, result)."""
    kinds: Counter[str] = Counter()
    for call in scenario.api_calls():
        path = call["path"]
        kinds[
            "submit" if call["method"] == "POST" else "status" if path.endswith("/status") else "result"
        ] += 1
    total = sum(kinds.values())
    return {"total": total / jobs, **{kind: count / jobs for kind, count in sorted(kinds.items())}}


def start_runs(scenario: Scenario, dag_id: str, count: int, spacing: float) -> list[str]:
    """Start ``count`` runs of ``dag_id`` on ``scenario``'s connection, ``spacing`` seconds apart."""
    runs = []
    for _ in range(count):
        runs.append(scenario.cluster.trigger(dag_id, conn_id=scenario.conn_id))
        time.sleep(spacing)  # pacing the load on purpose: jobs that all end at once measure queueing
    return runs


def finished(scenario: Scenario, dag_id: str, runs: list[str]) -> list[str]:
    """Wait for every run to end; return those that succeeded (a failure is reported, not measured)."""
    ended = [
        scenario.cluster.wait_for_state(dag_id, run_id, "generate", ["success", "failed"], 600)
        for run_id in runs
    ]
    return [run_id for run_id, ti in zip(runs, ended, strict=True) if ti["state"] == "success"]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(item.split("=", 1) for item in args.setting)
    env = {f"AIRFLOW__{key.upper()}": value for key, value in settings.items()}
    home = Path(tempfile.mkdtemp(prefix="clipgen-bench-"))
    sandbox_args = (
        "--webhook-secret",
        SECRET,
        "--queue-seconds",
        "0.2",
        "--run-seconds",
        str(args.run_seconds),
    )
    with SandboxServer(*sandbox_args) as sandbox, AirflowCluster(home, settings=env) as cluster:
        cluster.wait_for_dags(DAG_IDS)
        pushed = Scenario.create(cluster, sandbox, "bench_webhook")
        polled = Scenario.create(cluster, sandbox, "bench_polled")
        webhook_runs = start_runs(pushed, "clipgen_webhook", args.jobs, args.spacing)
        polled_runs = start_runs(polled, "clipgen_polled", args.polled, args.spacing)
        succeeded = finished(pushed, "clipgen_webhook", webhook_runs)
        polled_ok = finished(polled, "clipgen_polled", polled_runs)
        latencies, phases = [], []
        via: Counter[str] = Counter()
        for run_id in succeeded:
            box = cluster.xcom("clipgen_webhook", run_id, "generate", "clipia_webhook")
            resumed_at = cluster.xcom("clipgen_webhook", run_id, "generate", "resumed_at")
            via[cluster.xcom("clipgen_webhook", run_id, "generate", "event")["via"]] += 1
            latencies.append(resumed_at - box["received_at"])
            ti = cluster.task_instance("clipgen_webhook", run_id, "generate")
            scheduled, queued = (_epoch(ti[field]) for field in ("scheduled_when", "queued_when"))
            phases.append((scheduled - box["received_at"], queued - scheduled, resumed_at - queued))
        return {
            "jobs": args.jobs,
            "polled_jobs": args.polled,
            "failed": {"webhook": args.jobs - len(succeeded), "polled": args.polled - len(polled_ok)},
            "run_seconds": args.run_seconds,
            "spacing": args.spacing,
            "airflow_settings": settings,
            "resumed_via": dict(via),
            "latency_seconds": {
                "p50": round(percentile(latencies, 0.50), 3),
                "p95": round(percentile(latencies, 0.95), 3),
                "max": round(max(latencies), 3),
                "mean": round(statistics.fmean(latencies), 3),
            },
            "mean_phase_seconds": {
                name: round(statistics.fmean(phase[i] for phase in phases), 3)
                for i, name in enumerate(
                    ("receiver_to_scheduled", "scheduled_to_queued", "queued_to_resumed")
                )
            },
            "api_calls_per_webhook_job": calls_per_job(pushed, args.jobs),
            "api_calls_per_polled_job": calls_per_job(polled, max(args.polled, 1)),
            "logs": str(home),
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20, help="webhook-driven jobs (default 20)")
    parser.add_argument("--polled", type=int, default=5, help="polled jobs, for the call count (default 5)")
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between job starts (default 2)")
    parser.add_argument("--run-seconds", type=float, default=12.0, help="sandbox job duration (default 12)")
    parser.add_argument("--setting", action="append", default=[], help="Airflow setting SECTION__KEY=VALUE")
    print(json.dumps(measure(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()

"""Webhook mode on a real Airflow deployment: resume latency and API calls per job.

Webhook mode needs the provider's receiver mounted on a running API server, a scheduler and a
triggerer, so this step runs the webhook harness (``tests.system.bench_webhook_latency``: sandbox,
API server, scheduler, triggerer, DAG processor; SQLite, LocalExecutor) twice: with the scheduler
setting ``docs/webhooks.md`` recommends for low latency (``scheduler_idle_sleep_time = 0.2``) and
with Airflow's default (1 s), for ``jobs`` webhook-driven generations each, as long as the polling
job. It reads the delivery-received → ``execute_complete`` latency percentiles and the Clipia
calls per job the harness counted in the sandbox's call log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HARNESS = "tests.system.bench_webhook_latency"
#: the scheduler loop's sleep when idle: recommended for webhook deployments, and Airflow's default
IDLE_SLEEP_SETTING = "scheduler__scheduler_idle_sleep_time"
RECOMMENDED_IDLE_SLEEP = "0.2"
_TIMEOUT_SECONDS = 900
#: what the report keeps of the run with Airflow's default scheduler setting
_DEFAULT_RUN_KEYS = ("error", "failed", "latency_seconds", "mean_phase_seconds", "command")


def _run_harness(jobs: int, job_seconds: float, settings: list[str]) -> dict[str, Any]:
    """One harness run's figures, or ``{"error": ...}`` when it fails."""
    command = [sys.executable, "-m", HARNESS, "--jobs", str(jobs), "--polled", "0"]
    command += ["--run-seconds", f"{job_seconds:g}", "--spacing", "2"]
    for setting in settings:
        command += ["--setting", setting]
    try:
        done = subprocess.run(  # noqa: S603 - the repository's own harness
            command, cwd=REPO, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"{HARNESS} took longer than {_TIMEOUT_SECONDS} s"}
    lines = done.stdout.splitlines()
    first = next((index for index, line in enumerate(lines) if line == "{"), None)
    if done.returncode != 0 or first is None:
        return {"error": f"{HARNESS} failed ({done.returncode}): {done.stderr[-1500:]}"}
    figures: dict[str, Any] = json.loads("\n".join(lines[first:]))
    figures["command"] = " ".join(["python", *command[1:]])
    return figures


def measure_webhook_mode(jobs: int, job_seconds: float) -> dict[str, Any]:
    """Run ``jobs`` webhook-driven generations of ``job_seconds`` per scheduler setting; their figures.

    Returns the recommended setting's calls per job and latency percentiles, plus the default
    setting's as ``default_scheduler``; ``{"error": ...}`` when the harness is missing or fails.
    """
    if not (REPO / Path(*HARNESS.split("."))).with_suffix(".py").exists():
        return {"error": f"{HARNESS} is not in this checkout"}
    tuned = _run_harness(jobs, job_seconds, [f"{IDLE_SLEEP_SETTING}={RECOMMENDED_IDLE_SLEEP}"])
    if "error" in tuned:
        return tuned
    default = _run_harness(jobs, job_seconds, [])
    calls = tuned["api_calls_per_webhook_job"]
    return {
        "jobs": jobs,
        "job_seconds": job_seconds,
        "failed": tuned["failed"]["webhook"],
        "api_calls_per_job": calls["total"],
        "by_kind": {kind: count for kind, count in calls.items() if kind != "total"},
        "resumed_via": tuned.get("resumed_via"),
        "latency_seconds": tuned["latency_seconds"],
        "mean_phase_seconds": tuned["mean_phase_seconds"],
        "scheduler_idle_sleep_time": float(RECOMMENDED_IDLE_SLEEP),
        "command": tuned["command"],
        "default_scheduler": {key: default.get(key) for key in _DEFAULT_RUN_KEYS},
    }

"""Run every measurement against one sandbox and gather the figures under their report keys.

Order matters on a 2-core machine: the trigger runs (one core for the loop, one for the sandbox)
go first and alone; the end-to-end jobs and the import timings, which care little about a busy
neighbour, come after.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from bench import imports, machine
from bench.job_flow import run_job_flows
from bench.plan import BenchPlan
from bench.throughput import measure_throughput
from bench.triggers import find_max
from bench.webhook_mode import measure_webhook_mode
from clipgen_provider.sandbox.server import SandboxServer

#: the keys every run reports (the two webhook ones may be null, with a note)
REQUIRED_KEYS = (
    "triggers_concurrent_max",
    "clipwise_triggers_concurrent_max",
    "trigger_rss_kb_per_waiting",
    "poll_cpu_ratio_vs_http_sensor",
    "rss_ratio_vs_http_sensor",
    "api_calls_per_job_poll",
    "api_calls_per_job_webhook",
    "webhook_resume_p95_s",
    "worker_slot_s_per_job_deferrable",
    "worker_slot_s_per_job_blocking",
    "import_cost_ratio_vs_http_operator",
    "sandbox_requests_per_second",
)


def _at(runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """The run of ``size`` triggers (the peer comparison size)."""
    return next(run for run in runs if run["triggers"] == size)


def _ratio(ours: float | None, peer: float | None) -> float | None:
    return round(ours / peer, 3) if ours is not None and peer else None


def run_suite(plan: BenchPlan, log: Callable[[str], None]) -> dict[str, Any]:
    """Start the sandbox, run every measurement, return the report's figures and details."""
    started = datetime.datetime.now(datetime.timezone.utc)
    details: dict[str, Any] = {"machine": machine.describe(), "load_before": machine.load()}
    with SandboxServer() as sandbox:
        log("Sandbox capacity (closed-loop status polls)")
        throughput = measure_throughput(sandbox, list(plan.throughput_concurrency), plan.throughput_seconds)
        log(f"  {throughput['requests_per_second']} requests/s")
        details["quiet"] = machine.wait_until_quiet(plan.quiet_wait_seconds, 20.0, log)
        maxima: dict[str, int] = {}
        runs: dict[str, list[dict[str, Any]]] = {}
        for kind in ("aiohttp_floor", "clipia", "clipwise", "http_sensor"):
            log(f"Triggers in one loop: {kind}")
            maxima[kind], runs[kind] = find_max(sandbox, kind, list(plan.sizes), plan.load, log)
        log("One generation end to end: deferrable operator and blocking wait")
        flows = run_job_flows(sandbox, plan.job_queue_seconds, plan.job_run_seconds, plan.job_poll_interval)
    log("Import cost (fresh interpreters)")
    import_figures = imports.measure_imports(plan.import_runs)
    webhook: dict[str, Any] = {"error": "not run at this size (--smoke)"}
    if plan.webhook_jobs:
        log(f"Webhook mode on a real deployment: {plan.webhook_jobs} jobs per scheduler setting")
        webhook = measure_webhook_mode(plan.webhook_jobs, plan.job_queue_seconds + plan.job_run_seconds)
        log(f"  {webhook}")
    ours, peer = _at(runs["clipia"], plan.peer_size), _at(runs["http_sensor"], plan.peer_size)
    floor = _at(runs["aiohttp_floor"], plan.peer_size)
    details.update(
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()),
        load_after=machine.load(),
        plan={"sizes": list(plan.sizes), "peer_size": plan.peer_size, **vars(plan.load)},
        throughput=throughput,
        trigger_runs=runs,
        job_flows=flows,
        imports=import_figures,
        webhook=webhook,
    )
    return {
        "triggers_concurrent_max": maxima["clipia"],
        "clipwise_triggers_concurrent_max": maxima["clipwise"],
        "http_sensor_triggers_concurrent_max": maxima["http_sensor"],
        "floor_pollers_concurrent_max": maxima["aiohttp_floor"],
        "trigger_rss_kb_per_waiting": ours["rss_kb_per_trigger"],
        "http_sensor_rss_kb_per_waiting": peer["rss_kb_per_trigger"],
        "poll_cpu_ms": ours["cpu_ms_per_poll"],
        "http_sensor_poll_cpu_ms": peer["cpu_ms_per_poll"],
        "floor_poll_cpu_ms": floor["cpu_ms_per_poll"],
        "poll_cpu_ratio_vs_http_sensor": _ratio(ours["cpu_ms_per_poll"], peer["cpu_ms_per_poll"]),
        "rss_ratio_vs_http_sensor": _ratio(ours["rss_kb_per_trigger"], peer["rss_kb_per_trigger"]),
        "api_calls_per_job_poll": flows["deferrable"]["api_calls"]["total"],
        "api_calls_per_job_blocking": flows["blocking"]["api_calls"]["total"],
        "api_calls_per_job_webhook": webhook.get("api_calls_per_job"),
        "webhook_resume_p95_s": webhook.get("latency_seconds", {}).get("p95"),
        "webhook_resume_p50_s": webhook.get("latency_seconds", {}).get("p50"),
        "webhook_resume_p95_s_default_scheduler": (webhook.get("default_scheduler") or {})
        .get("latency_seconds", {})
        .get("p95"),
        "worker_slot_s_per_job_deferrable": flows["deferrable"]["slot_seconds"],
        "worker_slot_s_per_job_blocking": flows["blocking"]["slot_seconds"],
        "import_cost_ratio_vs_http_operator": import_figures["ratio"],
        "sandbox_requests_per_second": throughput["best"],
        "notes": _webhook_notes(webhook),
        "details": details,
    }


def _webhook_notes(webhook: dict[str, Any]) -> dict[str, str]:
    """Where the two webhook figures come from, or why they are missing."""
    if "error" in webhook:
        return {"api_calls_per_job_webhook": webhook["error"], "webhook_resume_p95_s": webhook["error"]}
    where = (
        f"{webhook['jobs']} jobs of {webhook['job_seconds']:g} s, wait_for_webhook=True, "
        f"on a real deployment ({webhook['command']})"
    )
    return {
        "api_calls_per_job_webhook": f"{where}; the calls of its API key in the sandbox's log",
        "webhook_resume_p95_s": "the same runs, delivery received to execute_complete running, with "
        f"[scheduler] scheduler_idle_sleep_time = {webhook['scheduler_idle_sleep_time']:g}",
    }

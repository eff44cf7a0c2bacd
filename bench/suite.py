"""Run every measurement against one sandbox and gather the figures under their report keys.

Order matters on a 2-core machine: the trigger runs (one core for the loop, one for the sandbox)
go first and alone; the end-to-end jobs and the import timings, which care little about a busy
neighbour, come after. :func:`run_adaptive_only` runs the adaptive-polling section alone
(``python -m bench --only adaptive``) and :func:`merge_results` folds its figures into an earlier
full run's.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from bench import imports, machine, ui_gallery
from bench.adaptive import compare, even_renders, sweep_longest
from bench.adaptive_live import measure_live
from bench.adaptive_load import find_adaptive_max
from bench.job_flow import run_job_flows
from bench.plan import SMOKE, BenchPlan
from bench.throughput import measure_throughput
from bench.triggers import find_max
from bench.webhook_mode import measure_webhook_mode
from clipgen_provider.sandbox.server import SandboxServer

#: the adaptive-polling keys (:func:`run_adaptive`), the fixed interval's beside them
ADAPTIVE_KEYS = (
    "adaptive_api_calls_per_60s_job",
    "fixed_api_calls_per_60s_job",
    "adaptive_api_calls_per_10min_job",
    "fixed_api_calls_per_10min_job",
    "adaptive_notice_delay_p95_s",
    "fixed_notice_delay_p95_s",
    "adaptive_notice_delay_p95_s_short_jobs",
    "fixed_notice_delay_p95_s_short_jobs",
    "adaptive_triggers_concurrent_max",
)
#: ``max_poll_interval`` values the adaptive renders are also run with, to show the trade-off
LONGEST_SWEEP = (60.0, 120.0, 300.0)

#: the webhook-mode keys: null, with a note, when the run has no real deployment (``--smoke``)
WEBHOOK_KEYS = ("api_calls_per_job_webhook", "webhook_resume_p95_s")
#: the keys every run reports
REQUIRED_KEYS = (
    "triggers_concurrent_max",
    "clipwise_triggers_concurrent_max",
    "trigger_rss_kb_per_waiting",
    "poll_cpu_ratio_vs_http_sensor",
    "rss_ratio_vs_http_sensor",
    "api_calls_per_job_poll",
    *WEBHOOK_KEYS,
    "worker_slot_s_per_job_deferrable",
    "worker_slot_s_per_job_blocking",
    "import_cost_ratio_vs_http_operator",
    "sandbox_requests_per_second",
    *ADAPTIVE_KEYS,
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
        log("Adaptive polling: waits of 60 s renders one loop keeps")
        adaptive = run_adaptive(sandbox, plan, log)
        log("One generation end to end: deferrable operator and blocking wait")
        flows = run_job_flows(sandbox, plan.job_queue_seconds, plan.job_run_seconds, plan.job_poll_interval)
    log("Import cost (fresh interpreters)")
    import_figures = imports.measure_imports(plan.import_runs)
    # on a real deployment: not in the smoke run (tests/system/test_bench_webhook_mode.py runs it)
    webhook: dict[str, Any] = {"error": "not run at this size (--smoke)"}
    if plan.webhook_jobs:
        log(f"Webhook mode on a real deployment: {plan.webhook_jobs} jobs per scheduler setting")
        webhook = measure_webhook_mode(plan.webhook_jobs, plan.job_queue_seconds + plan.job_run_seconds)
        log(f"  {webhook}")
    ours, peer = _at(runs["clipia"], plan.peer_size), _at(runs["http_sensor"], plan.peer_size)
    floor = _at(runs["aiohttp_floor"], plan.peer_size)
    ui = ui_gallery.run(smoke=plan is SMOKE, log=log)  # its section: python -m bench.ui_gallery
    details["ui_gallery"] = ui["details"]["ui_gallery"]
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
        adaptive=adaptive.pop("details"),
    )
    return {
        **adaptive,
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
        ui_gallery.KEY: ui[ui_gallery.KEY],
        "notes": _webhook_notes(webhook),
        "details": details,
    }


def run_adaptive(sandbox: SandboxServer, bench: BenchPlan, log: Callable[[str], None]) -> dict[str, Any]:
    """The adaptive-polling figures (:data:`ADAPTIVE_KEYS`) and, under ``details``, what is behind them."""
    started = datetime.datetime.now(datetime.timezone.utc)
    plan = bench.adaptive
    maximum, load_runs = find_adaptive_max(
        sandbox,
        list(plan.load_sizes),
        plan.load_job,
        plan.load_settle,
        plan.load_window,
        plan.seed,
        bench.load.poll_interval,
        bench.quiet_wait_seconds,
        log,
    )
    log(f"Adaptive polling: {plan.live.jobs} jobs in real time against the sandbox, both schedules")
    live = measure_live(sandbox, plan.live, plan.seed)
    log(f"  {live['live']}")
    log("Adaptive polling: the render streams in virtual time, both schedules")
    streams = compare(plan.renders, plan.short, plan.seed)
    sweep = sweep_longest(plan.renders, plan.seed, LONGEST_SWEEP)
    even = even_renders(plan.renders, plan.seed)
    sixty, ten = (streams["runs"][profile.name] for profile in plan.renders)
    log(
        f"  calls per job {sixty['adaptive']['calls_mean']} / {ten['adaptive']['calls_mean']} "
        f"(fixed {sixty['fixed']['calls_mean']} / {ten['fixed']['calls_mean']}), notice p95 "
        f"{streams['notice_delay_p95_s']} (short jobs {streams['notice_delay_p95_s_short_jobs']})"
    )
    return {
        "adaptive_api_calls_per_60s_job": sixty["adaptive"]["calls_mean"],
        "fixed_api_calls_per_60s_job": sixty["fixed"]["calls_mean"],
        "adaptive_api_calls_per_10min_job": ten["adaptive"]["calls_mean"],
        "fixed_api_calls_per_10min_job": ten["fixed"]["calls_mean"],
        "adaptive_notice_delay_p95_s": streams["notice_delay_p95_s"]["adaptive"],
        "fixed_notice_delay_p95_s": streams["notice_delay_p95_s"]["fixed"],
        "adaptive_notice_delay_p95_s_short_jobs": streams["notice_delay_p95_s_short_jobs"]["adaptive"],
        "fixed_notice_delay_p95_s_short_jobs": streams["notice_delay_p95_s_short_jobs"]["fixed"],
        "adaptive_triggers_concurrent_max": maximum,
        "details": {
            "started_at": started.isoformat(timespec="seconds"),
            "duration_s": round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()),
            "load_before": machine.load(),
            "plan": {
                "seed": plan.seed,
                "load_sizes": list(plan.load_sizes),
                "load_job": list(plan.load_job),
                "load_settle": plan.load_settle,
                "load_window": plan.load_window,
            },
            "streams": streams,
            "longest_sweep": sweep,
            "even": even,
            "live": live,
            "load_runs": load_runs,
        },
    }


def run_adaptive_only(plan: BenchPlan, log: Callable[[str], None]) -> dict[str, Any]:
    """The adaptive-polling section alone, against its own sandbox (``python -m bench --only adaptive``)."""
    with SandboxServer() as sandbox:
        figures = run_adaptive(sandbox, plan, log)
    return {**figures, "details": {"adaptive": figures["details"]}}


def merge_results(earlier: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """An earlier full run's figures with ``fresh`` ones (keys and ``details`` entries) in their place."""
    merged = {**earlier, **{key: value for key, value in fresh.items() if key != "details"}}
    merged["details"] = {**earlier.get("details", {}), **fresh.get("details", {})}
    return merged


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

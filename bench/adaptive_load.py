"""How many concurrent waits of 60 s renders one triggerer loop keeps with the adaptive schedule.

The fixed-interval runs (:mod:`bench.triggers`) wait for hour-long jobs that never end while
measured, which is right for a fixed interval: its poll rate does not depend on the job. The
adaptive schedule's does: it polls near each job's end, so the load is a stream of real renders
that end and are replaced. Each run keeps ``size`` waits going in one child loop
(:mod:`bench.trigger_load`'s ``renew`` mode): every wait submits a realistic 60 s render to the
sandbox (``realism`` on), waits for it with the trigger exactly as ``ClipiaGenerateOperator`` defers
to it, and starts over when it ends. The waits start one after another over one job length, so
after that ramp they are spread over every stage of their jobs; then the loop's lag, CPU and memory
are measured over the window, and the sandbox's call log gives the polls served in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench import machine
from bench.kinds import KINDS
from bench.triggers import LAG_P99_LIMIT_MS, run_child, served_polls
from clipgen_provider.sandbox.server import SandboxServer

KIND = KINDS["clipia_adaptive"]


def run_renewing(
    sandbox: SandboxServer,
    size: int,
    job: tuple[float, float],
    settle: float,
    window: float,
    seed: int,
    poll_interval: float,
) -> dict[str, Any]:
    """Keep ``size`` waits of (queue, run)-second realistic jobs going; the run's figures."""
    queue_seconds, run_seconds = job
    sandbox.update_settings(
        realism=True,
        realism_seed=seed,
        queue_seconds=queue_seconds,
        run_seconds=run_seconds,
        initial_credits=1e15,
    )
    api_key = f"clipia_test_bench_renew_{uuid.uuid4().hex}"
    ramp = queue_seconds + run_seconds
    spec = {
        "kind": KIND.name,
        "renew": {"slots": size, "ramp": ramp, "conn_id": KIND.conn_id, "api_key": api_key},
        "base_url": sandbox.url,
        "poll_interval": poll_interval,
        "warmup": ramp + settle,
        "window": window,
        "greenback": True,
    }
    sandbox.clear_calls()
    try:
        child = run_child(spec, KIND.connection_env(KIND.conn_id, sandbox.url, api_key))
    finally:
        sandbox.update_settings(realism=False)
    figures = child.figures
    start, end = figures["window_start"], figures["window_end"]
    served, answer_p95 = served_polls(sandbox, KIND, start, end)
    measured = end - start
    ended = figures["events_in_window"]
    result = {
        "waits": size,
        "job_seconds": ramp,
        "window_s": round(measured, 2),
        "polls_served": served,
        "polls_per_wait_minute": round(served / size / measured * 60, 2),
        "jobs_ended": sum(ended.values()),
        "sandbox_answer_p95_ms": round(answer_p95, 1),
        "cpu_ms_per_poll": round(figures["cpu_seconds"] * 1000 / served, 3) if served else None,
        "cpu_share": round(figures["cpu_seconds"] / measured, 3),
        "rss_kb_per_wait": round((figures["rss_after_kb"] - figures["rss_before_kb"]) / size, 2),
        "log_lines": child.log_lines,
        **{k: v for k, v in figures.items() if k not in ("window_start", "window_end")},
    }
    result["keeps_up"] = result["lag_p99_ms"] < LAG_P99_LIMIT_MS and set(figures["events"]) <= {"success"}
    return result


def find_adaptive_max(
    sandbox: SandboxServer,
    sizes: list[int],
    job: tuple[float, float],
    settle: float,
    window: float,
    seed: int,
    poll_interval: float,
    quiet_seconds: float,
    log: Callable[[str], None] = print,
) -> tuple[int, list[dict[str, Any]]]:
    """Each size in turn, smallest first, stopping at the first the loop does not keep up with.

    Before each, up to ``quiet_seconds`` for a quiet machine (a shared machine's neighbours make
    the loop lag as surely as its own waits do); each run records the load it started under.
    """
    best, runs = 0, []
    for size in sorted(sizes):
        quiet = machine.wait_until_quiet(quiet_seconds, 20.0, log)
        result = {**run_renewing(sandbox, size, job, settle, window, seed, poll_interval), "quiet": quiet}
        runs.append(result)
        log(
            f"  adaptive waits x{size:,}: lag p99 {result['lag_p99_ms']} ms, "
            f"{result['polls_served']:,} polls ({result['polls_per_wait_minute']} per wait-minute), "
            f"{result['jobs_ended']:,} jobs ended, "
            f"sandbox p95 {result['sandbox_answer_p95_ms']} ms, CPU {result['cpu_share']:.0%}, "
            f"{result['rss_kb_per_wait']} KB each, events {result['events']}"
        )
        if not result["keeps_up"]:
            break
        best = size
    return best, runs

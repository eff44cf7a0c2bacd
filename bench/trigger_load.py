"""Child process: run N waiting triggers in one asyncio loop the way the triggerer does, and measure.

``python -m bench.trigger_load SPEC RESULT`` reads a JSON spec (kind, jobs as ``[job id, connection
id, API key]``, sandbox URL, poll interval, warm-up and window seconds, whether to wrap in greenback)
and writes its figures as JSON to RESULT.
Its stdout and stderr carry the triggers' log lines (Airflow logs there), which the parent sends to
a file, as a triggerer writes trigger logs. A fresh process per run keeps memory and CPU clean.

Like ``TriggerRunner.create_triggers`` it creates one task per trigger's ``run()``, yielding to
the loop between two; like ``run_trigger`` it first opens a greenback portal (when asked). After
the warm-up (the start-up burst is not the steady state) it measures, over the window, the loop's
lag, the process's CPU seconds and its resident memory; the parent counts the polls the sandbox
served in that window.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import sys
import time
from collections import Counter
from typing import Any

import psutil

from bench.gcwatch import GcWatch
from bench.kinds import KINDS, TriggerKind
from bench.lag import LagMonitor

#: longest wait for the triggers to stop once measured
_STOP_SECONDS = 20.0


async def _run_one(trigger: Any, portal: bool, events: Counter[str]) -> None:
    """One trigger as ``TriggerRunner.run_trigger`` runs it: portal first, then its events.

    A trigger's ``run()`` is an async generator of events; the floor's is a plain coroutine.
    """
    if portal:
        import greenback

        await greenback.ensure_portal()
    try:
        running = trigger.run()
        if inspect.isawaitable(running):
            await running
        else:
            async for event in running:
                payload = event.payload
                events[str(payload.get("status") if isinstance(payload, dict) else payload)] += 1
    except Exception as err:  # a crash is a finding, not a reason to stop the measurement
        events[f"crash: {type(err).__name__}"] += 1


async def _warm_connection(kind: TriggerKind, conn_id: str) -> None:
    """Look a connection up once, so the secrets machinery's imports are not per-trigger memory."""
    if kind.name == "aiohttp_floor":
        return
    from airflow.sdk import BaseHook

    await BaseHook.aget_connection(conn_id)


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the spec's triggers, measure the window, stop them; return the figures."""
    kind = KINDS[spec["kind"]]
    kind.preload()
    await _warm_connection(kind, spec["jobs"][0][1])
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    monitor = LagMonitor()
    monitor.start()
    collections = GcWatch()
    collections.start()
    events: Counter[str] = Counter()
    tasks = []
    started = time.perf_counter()
    for job_id, conn_id, api_key in spec["jobs"]:
        trigger = kind.build(job_id, conn_id, spec["base_url"], api_key, spec["poll_interval"])
        tasks.append(asyncio.create_task(_run_one(trigger, spec["greenback"], events)))
        await asyncio.sleep(0)
    created_seconds = time.perf_counter() - started
    await asyncio.sleep(spec["warmup"])
    startup_lag = monitor.summary()
    monitor.reset()
    collections.reset()
    window_start, cpu_start = time.time(), process.cpu_times()
    await asyncio.sleep(spec["window"])
    window_end, cpu_end = time.time(), process.cpu_times()
    lag = {**monitor.summary(), **collections.summary()}
    collections.stop()
    rss_after = process.memory_info().rss
    connections = len(process.net_connections(kind="tcp"))
    await monitor.stop()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=_STOP_SECONDS)
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)
    return {
        **lag,
        "startup_lag_max_ms": startup_lag["lag_max_ms"],
        "create_seconds": round(created_seconds, 3),
        "window_start": window_start,
        "window_end": window_end,
        "cpu_seconds": round(cpu, 4),
        "rss_before_kb": rss_before // 1024,
        "rss_after_kb": rss_after // 1024,
        "open_connections": connections,
        "events": dict(events),
    }


def main() -> None:
    """Run the spec named on the command line and write the figures where the second argument says."""
    spec_path, result_path = sys.argv[1:3]
    with open(spec_path, encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    result = asyncio.run(measure(spec))
    with open(result_path, "w", encoding="utf-8") as result_file:
        json.dump(result, result_file)


if __name__ == "__main__":
    main()

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

A spec with ``renew`` (``{"slots", "ramp", "conn_id", "api_key"}``) keeps ``slots`` waits going
instead of waiting for given jobs: slot *i* starts at *i* x ``ramp`` / ``slots`` seconds, submits a
job itself, waits for it with a new trigger, and when that trigger's event comes submits the next,
as a triggerer gets a new wait when one ends (the submits, which a triggerer does not make, are on
this loop too). Staggered over one job length, the waits are soon at every stage of their jobs.
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

import aiohttp
import psutil

from bench.gcwatch import GcWatch
from bench.jobs import submit_one
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


async def _keep_waiting(
    offset: float, spec: dict[str, Any], session: aiohttp.ClientSession, events: Counter[str]
) -> None:
    """One slot of a renewing run: from ``offset`` on, submit a job, wait for it, and again."""
    kind, renew = KINDS[spec["kind"]], spec["renew"]
    headers = {"Authorization": f"Bearer {renew['api_key']}"}
    await asyncio.sleep(offset)
    while True:
        job_id = await submit_one(session, kind.api or "clipia", spec["base_url"], headers, 0)
        trigger = kind.build(
            job_id, renew["conn_id"], spec["base_url"], renew["api_key"], spec["poll_interval"]
        )
        await _run_one(trigger, spec["greenback"], events)


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
    renew = spec.get("renew")
    await _warm_connection(kind, renew["conn_id"] if renew else spec["jobs"][0][1])
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) if renew else None
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
    if renew:
        assert session is not None
        for slot in range(renew["slots"]):
            offset = slot * renew["ramp"] / renew["slots"]
            tasks.append(asyncio.create_task(_keep_waiting(offset, spec, session, events)))
            await asyncio.sleep(0)
    for job_id, conn_id, api_key in spec.get("jobs", []):
        trigger = kind.build(job_id, conn_id, spec["base_url"], api_key, spec["poll_interval"])
        tasks.append(asyncio.create_task(_run_one(trigger, spec["greenback"], events)))
        await asyncio.sleep(0)
    created_seconds = time.perf_counter() - started
    await asyncio.sleep(spec["warmup"])
    startup_lag = monitor.summary()
    monitor.reset()
    collections.reset()
    window_start, cpu_start, events_before = time.time(), process.cpu_times(), events.copy()
    await asyncio.sleep(spec["window"])
    window_end, cpu_end, events_in_window = time.time(), process.cpu_times(), events - events_before
    lag = {**monitor.summary(), **collections.summary()}
    collections.stop()
    rss_after = process.memory_info().rss
    connections = len(process.net_connections(kind="tcp"))
    await monitor.stop()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=_STOP_SECONDS)
    if session is not None:
        await session.close()
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
        "events_in_window": dict(events_in_window),
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

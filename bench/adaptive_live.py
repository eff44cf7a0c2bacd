"""The virtual-time figures checked in real time: real triggers, real HTTP, the same seeded jobs.

:mod:`bench.adaptive` waits for hundreds of jobs in virtual time. This runs one of its profiles
for real against the sandbox process (``realism`` on, the same seed, so job *n* has the same
timeline): jobs submitted over HTTP one every ``spacing`` seconds, and for each, one second later,
a real :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger` (its log quieted) with the
operator's kwargs, polling the sandbox over loopback. Each schedule has its own API key (its own account, so
its own copy of the job stream). Calls are counted in the sandbox's call log; a job's end is its
``completed_at``; the notice is the moment the trigger yields its event. The same profile is then
run in virtual time, and the two sets of figures are reported side by side.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import statistics
import time
import uuid
from typing import Any

import httpx

from bench.adaptive import HANDOVER_SECONDS, POLL_INTERVAL, Profile, QuietClipiaTrigger, simulate
from bench.kinds import CLIPIA_JOB_KIND, CLIPIA_MODEL
from bench.lag import percentile
from clipgen_provider.sandbox.server import SandboxServer
from clipgen_provider.triggers import _schedule
from clipgen_provider.triggers._schedule import PollScheduleName

SCHEDULES: tuple[PollScheduleName, ...] = ("adaptive", "fixed")


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _wait_for(
    client: httpx.AsyncClient, schedule: PollScheduleName, index: int, spacing: float
) -> tuple[str, float]:
    """Submit job ``index`` at its moment, wait for it as the operator would; (id, noticed at)."""
    await asyncio.sleep(index * spacing)
    answer = await client.post(f"/v1/models/{CLIPIA_MODEL}", json={"input": {"prompt": f"live {index}"}})
    answer.raise_for_status()
    job_id, seen_at = str(answer.json()["request_id"]), time.time()
    await asyncio.sleep(HANDOVER_SECONDS)
    trigger = QuietClipiaTrigger(
        job_id=job_id,
        conn_id=f"clipia_bench_live_{schedule}",
        poll_interval=POLL_INTERVAL,
        poll_schedule=schedule,
        job_kind=CLIPIA_JOB_KIND if schedule == "adaptive" else None,
        schedule_state=_schedule.handover(seen_at=seen_at),
    )
    async for event in trigger.run():
        if event.payload["status"] != "success":
            raise RuntimeError(f"live job {job_id}: {event.payload}")
    return job_id, time.time()


async def _run(
    base_url: str, keys: dict[PollScheduleName, str], profile: Profile
) -> dict[PollScheduleName, list[tuple[str, float]]]:
    clients = {
        schedule: httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
        for schedule, key in keys.items()
    }
    try:
        waits = {
            schedule: [
                _wait_for(clients[schedule], schedule, index, profile.spacing)
                for index in range(profile.jobs)
            ]
            for schedule in SCHEDULES
        }
        done = await asyncio.gather(*(asyncio.gather(*waits[schedule]) for schedule in SCHEDULES))
        return dict(zip(SCHEDULES, (list(one) for one in done), strict=True))
    finally:
        for client in clients.values():
            await client.aclose()


def _figures(sandbox: SandboxServer, key: str, noticed: list[tuple[str, float]]) -> dict[str, Any]:
    calls_by_path: dict[str, int] = {}
    for call in sandbox.calls(api_key=key, method="GET"):
        calls_by_path[call["path"]] = calls_by_path.get(call["path"], 0) + 1
    calls, delays = [], []
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {key}"}) as client:
        for job_id, noticed_at in noticed:
            calls.append(calls_by_path.get(f"/v1/requests/{job_id}/status", 0) + 2)
            delays.append(noticed_at - _epoch(client.get(f"/v1/requests/{job_id}").json()["completed_at"]))
    return {
        "calls_mean": round(statistics.mean(calls), 2),
        "notice_delay_s": {
            "p50": round(percentile(delays, 0.50), 2),
            "p95": round(percentile(delays, 0.95), 2),
            "max": round(max(delays), 2),
        },
    }


def measure_live(sandbox: SandboxServer, profile: Profile, seed: int) -> dict[str, Any]:
    """Run ``profile`` for real and in virtual time; both schedules' figures each way."""
    keys = {schedule: f"clipia_test_bench_live_{uuid.uuid4().hex}" for schedule in SCHEDULES}
    for schedule, key in keys.items():
        os.environ[f"AIRFLOW_CONN_CLIPIA_BENCH_LIVE_{schedule.upper()}"] = json.dumps(
            {"conn_type": "clipia", "host": sandbox.url, "password": key}
        )
    sandbox.update_settings(
        realism=True,
        realism_seed=seed,
        queue_seconds=profile.queue_seconds,
        run_seconds=profile.run_seconds,
        initial_credits=1e9,
    )
    _schedule.HISTORY.clear()
    try:
        noticed = asyncio.run(_run(sandbox.url, keys, profile))
    finally:
        sandbox.update_settings(realism=False)
    live = {schedule: _figures(sandbox, keys[schedule], noticed[schedule]) for schedule in SCHEDULES}
    virtual = {}
    for schedule in SCHEDULES:
        figures = simulate(profile, schedule, seed)
        virtual[schedule] = {"calls_mean": figures["calls_mean"], "notice_delay_s": figures["notice_delay_s"]}
    return {
        "profile": vars(profile),
        "seed": seed,
        "live": live,
        "virtual": virtual,
    }

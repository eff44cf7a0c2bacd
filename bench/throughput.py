"""The sandbox's own capacity: status polls per second it answers, so it is never the bottleneck.

A closed loop of raw aiohttp clients (``concurrency`` requests always in flight, one shared pool)
reads one running job's status for ``seconds`` at each concurrency: a Clipia request, and a
Clipwise generation on a key holding as many generations as the trigger runs put on one key. The
client is cheap next to the server, so the rate is the sandbox's, on one core of this machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bench.jobs import submit_jobs
from bench.triggers import CLIPWISE_JOBS_PER_KEY, JOB_RUN_SECONDS
from clipgen_provider.sandbox.server import SandboxServer


async def _closed_loop(url: str, headers: dict[str, str], concurrency: int, seconds: float) -> float:
    """Requests per second answered with 200 while ``concurrency`` are kept in flight."""
    answered = 0
    stop = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal answered
        while time.perf_counter() < stop:
            async with session.get(url, headers=headers) as response:
                await response.read()
                answered += response.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        return answered / (time.perf_counter() - started)


def _status_url(sandbox: SandboxServer, api: str, count: int) -> tuple[str, dict[str, str]]:
    """The status URL of the first of ``count`` fresh running jobs on one new key, and its headers."""
    api_key = f"{'cw_bench_' if api == 'clipwise' else 'clipia_test_bench_'}{uuid.uuid4().hex}"
    job_id = submit_jobs(api, sandbox.url, api_key, count)[0]
    path = f"/api/sdk/v1/generations/{job_id}/" if api == "clipwise" else f"/v1/requests/{job_id}/status"
    return sandbox.url + path, {"Authorization": f"Bearer {api_key}"}


def measure_throughput(sandbox: SandboxServer, concurrencies: list[int], seconds: float) -> dict[str, Any]:
    """Status reads per second the sandbox answers at each concurrency, per API, and the Clipia best."""
    sandbox.update_settings(queue_seconds=0.0, run_seconds=JOB_RUN_SECONDS)
    rates: dict[str, dict[str, int]] = {}
    for api, jobs in (("clipia", 1), ("clipwise", CLIPWISE_JOBS_PER_KEY)):
        url, headers = _status_url(sandbox, api, jobs)
        rates[api] = {
            str(level): round(asyncio.run(_closed_loop(url, headers, level, seconds)))
            for level in concurrencies
        }
    sandbox.clear_calls()
    return {
        "seconds_each": seconds,
        "requests_per_second": rates["clipia"],
        "clipwise_requests_per_second": rates["clipwise"],
        "clipwise_generations_on_the_key": CLIPWISE_JOBS_PER_KEY,
        "best": max(rates["clipia"].values()),
    }

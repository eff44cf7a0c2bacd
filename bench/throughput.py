"""The sandbox's own capacity: status polls per second it answers, so it is never the bottleneck.

A closed loop of raw aiohttp clients (``concurrency`` requests always in flight, one shared pool)
asks for one running request's status for ``seconds`` at each concurrency. The client is cheap
next to the server, so the rate is the sandbox's, on one core of this machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bench.jobs import submit_jobs
from bench.triggers import JOB_RUN_SECONDS
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


def measure_throughput(sandbox: SandboxServer, concurrencies: list[int], seconds: float) -> dict[str, Any]:
    """Status polls per second the sandbox serves at each concurrency, and the best of them."""
    api_key = f"clipia_test_bench_{uuid.uuid4().hex}"
    sandbox.update_settings(queue_seconds=0.0, run_seconds=JOB_RUN_SECONDS)
    (request_id,) = submit_jobs("clipia", sandbox.url, api_key, 1)
    url = f"{sandbox.url}/v1/requests/{request_id}/status"
    headers = {"Authorization": f"Bearer {api_key}"}
    rates = {
        str(concurrency): round(asyncio.run(_closed_loop(url, headers, concurrency, seconds)))
        for concurrency in concurrencies
    }
    sandbox.clear_calls()
    return {"seconds_each": seconds, "requests_per_second": rates, "best": max(rates.values())}

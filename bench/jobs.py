"""Start many long-running jobs on the sandbox, quickly, for triggers to wait on.

Set-up only, not measured: plain aiohttp with a few dozen submits in flight. Each job runs for
``run_seconds`` (the caller sets it long), so every trigger keeps waiting for the whole measurement.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bench.kinds import CLIPIA_MODEL, CLIPWISE_FORMAT

_IN_FLIGHT = 32


def _submit_call(kind: str, base_url: str, index: int) -> tuple[str, dict[str, Any]]:
    """URL and JSON body of one submit of ``kind``."""
    prompt = f"benchmark job {index}"
    if kind == "clipwise":
        return f"{base_url}/api/sdk/v1/generations/", {"format": CLIPWISE_FORMAT, "prompt": prompt}
    return f"{base_url}/v1/models/{CLIPIA_MODEL}", {"input": {"prompt": prompt}}


async def submit_one(
    session: aiohttp.ClientSession, kind: str, base_url: str, headers: dict[str, str], index: int
) -> str:
    """Submit job ``index`` of ``kind`` with ``headers`` (the API key's); return its id."""
    url, body = _submit_call(kind, base_url, index)
    async with session.post(url, json=body, headers=headers) as response:
        response.raise_for_status()
        answer = await response.json()
    return str(answer.get("request_id") or answer["id"])


async def _submit_all(kind: str, base_url: str, api_key: str, count: int) -> list[str]:
    ids: list[str] = [""] * count
    headers = {"Authorization": f"Bearer {api_key}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            ids[index] = await submit_one(session, kind, base_url, headers, index)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(_IN_FLIGHT)))
    return ids


def submit_jobs(kind: str, base_url: str, api_key: str, count: int) -> list[str]:
    """Submit ``count`` jobs of ``kind`` (``clipia`` or ``clipwise``) and return their ids."""
    return asyncio.run(_submit_all(kind, base_url, api_key, count))

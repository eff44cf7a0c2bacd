"""The kinds of waiting poller the benchmark compares, and what each needs from the sandbox.

* ``clipia``: our :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger` on a running request,
  polling at a fixed interval (the per-poll cost is what these runs measure);
* ``clipwise``: our :class:`~clipgen_provider.triggers.clipwise.ClipwiseGenerationTrigger`, the same;
* ``clipia_adaptive``: the Clipia trigger as ``ClipiaGenerateOperator`` defers to it by default,
  adaptive schedule and all, on a job it has just submitted (the renewing runs of
  :mod:`bench.adaptive_load`);
* ``http_sensor``: the http provider's ``HttpSensorTrigger`` (the peer), polling the same Clipia
  status route; it fires on anything but 404, so it waits on unknown request ids;
* ``aiohttp_floor``: not a trigger but the machine's floor: a bare coroutine per job polling the
  same route over one shared aiohttp session, with no Airflow, httpx or provider code in the way.

Connections come from ``AIRFLOW_CONN_*`` environment variables: outside a triggerer there are no
Task SDK comms, and the environment backend is the one ``aget_connection`` reads without them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp

CLIPIA_MODEL = "nano-banana-2"
CLIPWISE_FORMAT = "smart"
#: what ``ClipiaGenerateOperator`` names the kind of its jobs (``ClipgenJobOperator.job_kind``)
CLIPIA_JOB_KIND = f"Clipia request:{CLIPIA_MODEL}"


class SharedSessionPoller:
    """A bare status poller: GET, decode, sleep the jittered interval, forever (the floor)."""

    #: one aiohttp session for every poller (the child process runs one loop)
    session: ClassVar[aiohttp.ClientSession | None] = None

    def __init__(self, url: str, api_key: str, poll_interval: float) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.poll_interval = poll_interval

    async def run(self) -> None:
        """Poll until cancelled."""
        if SharedSessionPoller.session is None:
            SharedSessionPoller.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        while True:
            async with SharedSessionPoller.session.get(self.url, headers=self.headers) as answer:
                json.loads(await answer.read())
            await asyncio.sleep(self.poll_interval * (1 + random.uniform(-0.1, 0.1)))


@dataclass(frozen=True)
class TriggerKind:
    """One kind of poller: its name in reports, its connection, and the calls it makes."""

    name: str
    label: str
    conn_id: str
    #: which API's jobs it waits for; None: unknown ids (the 404-polling peer)
    api: str | None
    #: sandbox call-log path prefix and answer status of one of its polls
    poll_path: str
    poll_status: int
    #: modules its first poll imports
    modules: tuple[str, ...]

    def connection_env(self, conn_id: str, base_url: str, api_key: str) -> dict[str, str]:
        """The ``AIRFLOW_CONN_...`` variable that points connection ``conn_id`` at the sandbox."""
        conn: dict[str, Any] = {"conn_type": self.api, "host": base_url, "password": api_key}
        if self.name == "http_sensor":
            conn = {"conn_type": "http", "host": base_url}
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)}

    def build(self, job_id: str, conn_id: str, base_url: str, api_key: str, poll_interval: float) -> Any:
        """A poller waiting for ``job_id`` (imports the trigger class only when used)."""
        if self.name == "clipia":
            from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

            return ClipiaRequestTrigger(
                job_id=job_id, conn_id=conn_id, poll_interval=poll_interval, poll_schedule="fixed"
            )
        if self.name == "clipia_adaptive":
            from clipgen_provider.triggers._schedule import handover
            from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

            return ClipiaRequestTrigger(
                job_id=job_id,
                conn_id=conn_id,
                poll_interval=poll_interval,
                job_kind=CLIPIA_JOB_KIND,
                schedule_state=handover(seen_at=time.time()),
            )
        if self.name == "clipwise":
            from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

            return ClipwiseGenerationTrigger(
                job_id=job_id, conn_id=conn_id, poll_interval=poll_interval, poll_schedule="fixed"
            )
        if self.name == "aiohttp_floor":
            return SharedSessionPoller(f"{base_url}/v1/requests/{job_id}/status", api_key, poll_interval)
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        return HttpSensorTrigger(
            endpoint=f"/v1/requests/{job_id}/status",
            http_conn_id=conn_id,
            method="GET",
            headers={"Authorization": f"Bearer {api_key}"},
            poke_interval=poll_interval,
        )

    def preload(self) -> None:
        """Import what the first poll would import, so start-up imports do not count as memory."""
        for module in self.modules:
            importlib.import_module(module)


_OURS = ("httpx_aiohttp", "clipgen_provider.triggers.clipia", "clipgen_provider.triggers.clipwise")
KINDS: dict[str, TriggerKind] = {
    kind.name: kind
    for kind in (
        TriggerKind(
            "clipia", "ClipiaRequestTrigger", "clipia_default", "clipia", "/v1/requests/", 200, _OURS
        ),
        TriggerKind(
            "clipia_adaptive",
            "ClipiaRequestTrigger, adaptive",
            "clipia_default",
            "clipia",
            "/v1/requests/",
            200,
            _OURS,
        ),
        TriggerKind(
            "clipwise",
            "ClipwiseGenerationTrigger",
            "clipwise_default",
            "clipwise",
            "/api/sdk/v1/generations/",
            200,
            _OURS,
        ),
        TriggerKind(
            "http_sensor",
            "HttpSensorTrigger",
            "http_default",
            None,
            "/v1/requests/",
            404,
            ("airflow.providers.http.triggers.http",),
        ),
        TriggerKind(
            "aiohttp_floor",
            "shared aiohttp session (floor)",
            "clipia_default",
            "clipia",
            "/v1/requests/",
            200,
            (),
        ),
    )
}

"""The kinds of waiting trigger the benchmark compares, and what each needs from the sandbox.

* ``clipia``: our :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger` on a running request;
* ``clipwise``: our :class:`~clipgen_provider.triggers.clipwise.ClipwiseGenerationTrigger`;
* ``http_sensor``: the http provider's ``HttpSensorTrigger`` (the peer), polling the same Clipia
  status route until it stops answering 404, so it keeps waiting on an unknown request id.

Connections come from ``AIRFLOW_CONN_*`` environment variables: outside a triggerer there are no
Task SDK comms, and the environment backend is the one ``aget_connection`` reads without them.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

CLIPIA_MODEL = "nano-banana-2"
CLIPWISE_FORMAT = "smart"


@dataclass(frozen=True)
class TriggerKind:
    """One kind of trigger: its name in reports, its connection, and the calls it makes."""

    name: str
    label: str
    conn_id: str
    #: sandbox call-log path prefix and answer status of one of its polls
    poll_path: str
    poll_status: int
    #: modules its first poll imports
    modules: tuple[str, ...]

    def connection_env(self, base_url: str, api_key: str) -> dict[str, str]:
        """The ``AIRFLOW_CONN_...`` variable that points this kind's connection at the sandbox."""
        conn: dict[str, Any] = {"conn_type": self.name, "host": base_url, "password": api_key}
        if self.name == "http_sensor":
            conn = {"conn_type": "http", "host": base_url}
        return {f"AIRFLOW_CONN_{self.conn_id.upper()}": json.dumps(conn)}

    def build(self, job_id: str, api_key: str, poll_interval: float) -> Any:
        """A trigger instance waiting for ``job_id`` (imports the trigger class only when used)."""
        if self.name == "clipia":
            from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

            return ClipiaRequestTrigger(job_id=job_id, conn_id=self.conn_id, poll_interval=poll_interval)
        if self.name == "clipwise":
            from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

            return ClipwiseGenerationTrigger(job_id=job_id, conn_id=self.conn_id, poll_interval=poll_interval)
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        return HttpSensorTrigger(
            endpoint=f"/v1/requests/{job_id}/status",
            http_conn_id=self.conn_id,
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
    "clipia": TriggerKind("clipia", "ClipiaRequestTrigger", "clipia_default", "/v1/requests/", 200, _OURS),
    "clipwise": TriggerKind(
        "clipwise", "ClipwiseGenerationTrigger", "clipwise_default", "/api/sdk/v1/generations/", 200, _OURS
    ),
    "http_sensor": TriggerKind(
        "http_sensor",
        "HttpSensorTrigger",
        "http_default",
        "/v1/requests/",
        404,
        ("airflow.providers.http.triggers.http",),
    ),
}

"""The provider's Airflow plugin: mounts the Clipia webhook receiver on every Airflow API server.

Airflow loads plugins in every process, including each task run, while only the API server mounts
``fastapi_apps``. The receiver (FastAPI and Airflow's ORM) is therefore imported and built only
when ``fastapi_apps`` is first read, so tasks and triggers pay nothing for it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowPlugin


class _ReceiverApps:
    """``fastapi_apps`` built on first access, then kept (a descriptor: works on class and instance)."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._apps is None:
            from clipgen_provider.webhooks.addressing import URL_PREFIX
            from clipgen_provider.webhooks.receiver import create_receiver_app

            self._apps = [
                {"app": create_receiver_app(), "url_prefix": URL_PREFIX, "name": "Clipgen webhook receiver"}
            ]
        return self._apps


class ClipgenPlugin(AirflowPlugin):
    """Mounts ``POST /clipgen/clipia/deliveries/{ti_id}`` (see ``docs/webhooks.md``)."""

    name = "clipgen"
    fastapi_apps = _ReceiverApps()

"""The provider's Airflow plugin: the Clipia webhook receiver and the media UI, on every API server.

Airflow loads plugins in every process, including each task run, while only the API server mounts
``fastapi_apps``. The apps (FastAPI and Airflow's ORM) are therefore imported and built only when
``fastapi_apps`` is first read, so tasks and triggers pay nothing for them. ``external_views`` is
plain data (:func:`clipgen_provider.ui.external_views`).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowPlugin

from clipgen_provider.ui import external_views


class _LazyApps:
    """``fastapi_apps`` built on first access, then kept (a descriptor: works on class and instance)."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._apps is None:
            from clipgen_provider.ui import URL_PREFIX as UI_PREFIX
            from clipgen_provider.ui.app import create_ui_app
            from clipgen_provider.webhooks.addressing import URL_PREFIX
            from clipgen_provider.webhooks.receiver import create_receiver_app

            self._apps = [
                {"app": create_receiver_app(), "url_prefix": URL_PREFIX, "name": "Clipgen webhook receiver"},
                {"app": create_ui_app(), "url_prefix": UI_PREFIX, "name": "Clipgen media UI"},
            ]
        return self._apps


class ClipgenPlugin(AirflowPlugin):
    """Mounts ``POST /clipgen/clipia/deliveries/{ti_id}`` (``docs/webhooks.md``; HMAC-signed, no
    user auth) and the media UI under ``/clipgen-ui`` with its Media tab and Clipgen page
    (``docs/ui.md``; Airflow's user auth)."""

    name = "clipgen"
    fastapi_apps = _LazyApps()
    external_views = external_views()

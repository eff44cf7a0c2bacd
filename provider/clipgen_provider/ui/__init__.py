"""Generated media inside Airflow's UI: a *Media* tab on every task instance and a *Clipgen* page.

Both are server-rendered HTML pages of one FastAPI app that the provider's plugin mounts on every
API server under :data:`URL_PREFIX` (``docs/ui.md``). Airflow shows them in a same-origin iframe,
so the browser sends the signed-in user's ``_token`` cookie and every route checks it with
Airflow's own security dependencies. Everything shown comes from Airflow's metadata database;
only the balance button calls Clipia, when clicked.

This module only names things (the plugin reads it in every process): the app itself is built by
:func:`clipgen_provider.ui.app.create_ui_app` when the API server first asks for it.
"""

from __future__ import annotations

#: where the plugin mounts the UI app (the receiver keeps ``/clipgen``)
URL_PREFIX = "/clipgen-ui"
#: the Media tab's route in Airflow's UI (``/dags/…/tasks/…/clipgen-media``)
MEDIA_TAB_ROUTE = "clipgen-media"
#: the Clipgen page's route in Airflow's UI (``/plugin/clipgen``)
PAGE_ROUTE = "clipgen"


def external_views() -> list[dict[str, str]]:
    """The plugin's ``external_views``: the Media tab and the Clipgen page.

    ``href`` has no leading slash: the UI resolves it against its ``<base href>``, so it also works
    when Airflow is served under a sub-path. The page has no ``category``: it is a top-level item
    of the navigation bar.
    """
    prefix = URL_PREFIX.lstrip("/")
    return [
        {
            "name": "Media",
            "href": f"{prefix}/media?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}"
            "&map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": MEDIA_TAB_ROUTE,
        },
        {
            "name": "Clipgen",
            "href": f"{prefix}/page",
            "destination": "nav",
            "url_route": PAGE_ROUTE,
        },
    ]

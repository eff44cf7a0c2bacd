"""The URLs the pages link to: stored media (this app), task instances (Airflow's UI), API results."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from clipgen_provider.ui import URL_PREFIX
from clipgen_provider.ui.metadata import TaskInstanceKey

log = logging.getLogger(__name__)


def stored_file_url(key: TaskInstanceKey, index: int) -> str:
    """The media route for the ``index``-th stored file of a task instance, relative to this app's
    pages (``media/file?…``): the route looks the path up in that task instance's XCom."""
    query = {"dag_id": key.dag_id, "run_id": key.run_id, "task_id": key.task_id, "map_index": key.map_index}
    return "media/file?" + urlencode({**query, "index": index})


def airflow_root(root_path: str) -> str:
    """The path under which Airflow's UI is served, from this app's ``root_path`` (its mount point
    under the API server, which may itself sit under a sub-path)."""
    return root_path[: -len(URL_PREFIX)] if root_path.endswith(URL_PREFIX) else ""


def task_instance_url(root: str, key: TaskInstanceKey) -> str:
    """The task instance's page in Airflow's UI (its mapped instance for a map index)."""
    path = (
        f"{root}/dags/{quote(key.dag_id, safe='')}/runs/{quote(key.run_id, safe='')}"
        f"/tasks/{quote(key.task_id, safe='')}"
    )
    return f"{path}/mapped/{key.map_index}" if key.map_index >= 0 else path


def api_result_url(api: str | None, job_id: str | None, conn_id: str | None) -> str | None:
    """The API's URL of the job's result, on the base URL of the connection the task used.

    Reads the connection (environment, secrets backend or database), never the API. None when
    there is no job or the connection cannot be read.
    """
    if not api or not job_id:
        return None
    try:
        if api == "clipia":
            from clipgen_provider.hooks.clipia import ClipiaHook

            clipia = ClipiaHook(conn_id or ClipiaHook.default_conn_name)
            return clipia.get_conn().base_url.rstrip("/") + clipia._result_path(job_id)
        from clipgen_provider.hooks.clipwise import ClipwiseHook, api_path

        clipwise = ClipwiseHook(conn_id or ClipwiseHook.default_conn_name)
        return clipwise.get_conn().base_url.rstrip("/") + api_path("generations", job_id)
    except Exception as err:  # a link is a convenience: a broken connection must not fail the tab
        log.warning(
            "No result link for %s job %s: connection %r: %s", api, job_id, conn_id, type(err).__name__
        )
        return None

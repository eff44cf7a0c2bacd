"""The UI app the plugin mounts at :data:`~clipgen_provider.ui.URL_PREFIX` on every API server.

Routes (all ``GET``, all behind Airflow's authentication, see :mod:`clipgen_provider.ui.auth`):

* ``/media?dag_id&run_id&task_id&map_index``: the *Media* tab of a task instance (HTML);
* ``/media/file?dag_id&run_id&task_id&map_index&index``: the ``index``-th file the task
  instance stored (its ``stored_paths`` XCom), streamed, with range requests;
* ``/page?dag_id&model&day&days&per_page&cursor``: the *Clipgen* page (HTML);
* ``/balance?conn_id``: the balance of a Clipia connection (JSON), read from Clipia when asked.

Database reads block, so the routes are plain functions (FastAPI runs them in worker threads).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

from airflow.utils.session import create_session
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from clipgen_provider.ui import auth, balance, metadata, overview
from clipgen_provider.ui.auth import GetUserDep
from clipgen_provider.ui.files import StoredFileMissing, stored_file_response
from clipgen_provider.ui.media_tab import read_media_tab, render_media_tab
from clipgen_provider.ui.metadata import TaskInstanceKey
from clipgen_provider.ui.page import MAX_SPEND_DAYS, SPEND_DAYS, PageData, render_page
from clipgen_provider.ui.records import content_type_of
from clipgen_provider.ui.spend import SpendCache
from clipgen_provider.ui.urls import airflow_root

#: no page of this app may be framed by another site; Airflow's own UI (same origin) may
_HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "private, no-store"}


def map_index_of(value: str | None) -> int:
    """The ``map_index`` query parameter as a number: -1 when it is missing or still the UI's
    ``{MAP_INDEX}`` placeholder (an unmapped task); a bad value is refused."""
    if value is None or value in ("", "{MAP_INDEX}"):
        return -1
    try:
        return int(value)
    except ValueError as err:
        raise HTTPException(422, f"map_index must be a number, not {value!r}") from err


def _key(dag_id: str, run_id: str, task_id: str, map_index: str | None) -> TaskInstanceKey:
    return TaskInstanceKey(dag_id, run_id, task_id, map_index_of(map_index))


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise HTTPException(422, f"day must be a date such as 2026-12-03, not {value!r}") from err


def create_ui_app() -> FastAPI:
    """Build the UI app (no docs or OpenAPI pages)."""
    app = FastAPI(title="Clipgen UI", docs_url=None, redoc_url=None, openapi_url=None)
    task_read = [auth.requires_task_instance_read]
    spend = SpendCache()

    @app.get("/media", dependencies=task_read, include_in_schema=False)
    def media_tab(dag_id: str, run_id: str, task_id: str, map_index: str | None = None) -> HTMLResponse:
        key = _key(dag_id, run_id, task_id, map_index)
        with create_session(scoped=False) as session:
            tab = read_media_tab(session, key)
        return HTMLResponse(render_media_tab(tab), headers=_HEADERS)

    @app.get("/media/file", dependencies=task_read, include_in_schema=False)
    def media_file(
        request: Request,
        dag_id: str,
        run_id: str,
        task_id: str,
        index: Annotated[int, Query(ge=0)],
        map_index: str | None = None,
    ) -> Response:
        key = _key(dag_id, run_id, task_id, map_index)
        with create_session(scoped=False) as session:
            stored = metadata.xcoms(session, key, ["stored_paths"])
        paths = stored.get("stored_paths")
        if not isinstance(paths, list) or index >= len(paths) or not isinstance(paths[index], str):
            raise HTTPException(404, "This task instance stored no such file.")
        location = paths[index]
        try:
            return stored_file_response(location, request.headers.get("range"), content_type_of(location))
        except StoredFileMissing as err:
            raise HTTPException(404, "The stored copy of this file is gone.") from err

    @app.get("/page", include_in_schema=False)
    def page(
        request: Request,
        user: GetUserDep,
        dag_id: str | None = None,
        model: str | None = None,
        day: str | None = None,
        days: Annotated[int, Query(ge=1, le=MAX_SPEND_DAYS)] = SPEND_DAYS,
        cursor: str | None = None,
        per_page: Annotated[int, Query(ge=1, le=overview.MAX_PAGE_SIZE)] = overview.PAGE_SIZE,
    ) -> HTMLResponse:
        readable = auth.readable_dag_ids(user)
        if dag_id:
            auth.require_dag(dag_id, readable)
        where = overview.GalleryFilter(dag_id or None, (model or "").strip() or None, _day(day))
        try:
            after = overview.Cursor.decode(cursor) if cursor else None
        except overview.BadCursor as err:
            raise HTTPException(422, str(err)) from err
        today = datetime.now(tz=timezone.utc).date()
        with create_session(scoped=False) as session:
            items, next_cursor = overview.gallery_page(session, readable, where, after, per_page)
            data = PageData(
                today=today,
                spend_days=days,
                spend=spend.rows(session, readable, today - timedelta(days=days - 1)),
                connections=[
                    c for c in balance.clipia_connection_ids(session) if auth.can_read_connection(user, c)
                ],
                waiting=overview.waiting_jobs(session, readable),
                dag_ids=sorted(readable),
                where=where,
                gallery=items,
                next_cursor=next_cursor,
                per_page=per_page,
            )
        return HTMLResponse(
            render_page(data, airflow_root(request.scope.get("root_path", ""))), headers=_HEADERS
        )

    @app.get("/balance", include_in_schema=False)
    def read_balance(user: GetUserDep, conn_id: str) -> JSONResponse:
        if not auth.can_read_connection(user, conn_id):
            raise HTTPException(403, f"You may not read the connection {conn_id!r}.")
        try:
            credits: Any = balance.read_balance(conn_id)
        except balance.BalanceUnavailable as err:
            raise HTTPException(502, f"Could not read the balance of {conn_id!r}: {err}") from err
        return JSONResponse({"conn_id": conn_id, "credits": credits}, headers=_HEADERS)

    return app

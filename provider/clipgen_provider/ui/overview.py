"""The Clipgen page's reads of Airflow's metadata database: the gallery and the jobs waiting now.

A *generation* here is a task instance with a ``media_urls`` XCom: every generate operator,
job sensor and TaskFlow decorator of this provider pushes one when its job has finished
(:data:`clipgen_provider.outputs.HANDOFF_XCOM_KEYS`), whatever the operator's class is called.
That is one lookup on Airflow's ``idx_xcom_key`` index; the result (model, cost) and the stored
paths are then fetched by primary key for the rows of one page only. A submit-only task and the
sensor that waited for its job share the job, and only the sensor has ``media_urls``: the job
is shown once. (The spend is read by :mod:`clipgen_provider.ui.spend`.)

Every query is restricted to the DAGs the user may read (``readable``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from clipgen_provider.ui.records import (
    GENERATION_OPERATORS,
    JOB_ID_KEYS,
    MediaEntry,
    declared_types,
    media_entries,
)

#: the XCom that marks a finished generation
MEDIA_KEY = "media_urls"
#: gallery items per page (and the most a request may ask for)
PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
#: jobs waiting right now: at most this many are listed
WAITING_LIMIT = 50


class BadCursor(ValueError):
    """A ``cursor`` query parameter this page did not make."""


@dataclass(frozen=True)
class Cursor:
    """Where a gallery page ends: the last item's sort key, the XCom's primary key (newest run
    first)."""

    dag_run_id: int
    task_id: str
    map_index: int

    def encode(self) -> str:
        """An opaque URL-safe token for the ``cursor`` query parameter."""
        raw = json.dumps([self.dag_run_id, self.task_id, self.map_index])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor ``token`` stands for; :class:`BadCursor` if it is not one."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            run, task_id, map_index = json.loads(raw)
            return cls(int(run), str(task_id), int(map_index))
        except (ValueError, TypeError) as err:
            raise BadCursor(f"cursor {token!r} was not made by this page: open the gallery again") from err


@dataclass(frozen=True)
class GalleryFilter:
    """What the gallery is narrowed to: one DAG, one model or format, one day (UTC)."""

    dag_id: str | None = None
    model: str | None = None
    day: date | None = None


@dataclass(frozen=True)
class GalleryItem:
    """One generation in the gallery."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    finished_at: datetime
    model: str | None
    cost: float | None
    media: list[MediaEntry]


@dataclass(frozen=True)
class WaitingJob:
    """A deferred task instance of this provider: a job it waits for right now."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    operator: str | None
    job_id: str | None
    waiting_since: datetime | None


def same_task(xcom: Any, other: Any, key: str) -> ColumnElement[bool]:
    """Join condition: the XCom ``key`` of the same task instance (``xcom``'s primary key)."""
    return and_(
        xcom.dag_run_id == other.dag_run_id,
        xcom.task_id == other.task_id,
        xcom.map_index == other.map_index,
        xcom.key == key,
    )


def _model_of(value: Any) -> ColumnElement[Any]:
    """The result's ``model`` (Clipia) or ``format`` (Clipwise), extracted in SQL."""
    return func.coalesce(value["model"].as_string(), value["format"].as_string())


def gallery_page(
    session: Session,
    readable: Collection[str],
    where: GalleryFilter,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[GalleryItem], Cursor | None]:
    """One page of generations, newest DAG run first, and the cursor of the next page (None at
    the end).

    Keyset pagination on the XCom table's primary key (``dag_run_id``, ``task_id``,
    ``map_index``, ``key``): a page is a short walk down that index from the cursor, the same cost
    at any depth, and never repeats or skips an item when new ones arrive. The day filter keeps
    generations that finished on that day (UTC) in runs due from the day before.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    media = aliased(XComModel, name="media")
    result = aliased(XComModel, name="result")
    order = (media.dag_run_id, media.task_id, media.map_index)
    keys: Select[Any] = select(*order, media.timestamp, media.dag_id, media.run_id, media.value).where(
        media.key == MEDIA_KEY, media.dag_id.in_(list(readable))
    )
    if where.dag_id:
        keys = keys.where(media.dag_id == where.dag_id)
    if where.day:
        start = datetime.combine(where.day, time.min, tzinfo=timezone.utc)
        keys = keys.where(
            media.dag_run_id.in_(_runs_due(start - timedelta(days=1), start + timedelta(days=1))),
            media.timestamp >= start,
            media.timestamp < start + timedelta(days=1),
        )
    if where.model:
        keys = keys.join(result, same_task(result, media, "return_value")).where(
            _model_of(result.value) == where.model
        )
    if after is not None:
        keys = keys.where(tuple_(*order) < tuple_(after.dag_run_id, after.task_id, after.map_index))
    page = keys.order_by(*(column.desc() for column in order)).limit(limit + 1).subquery("page")
    details = (
        select(page, result.value.label("result"), _stored_value(page))
        .outerjoin(result, same_task(result, page.c, "return_value"))
        .order_by(
            page.c.timestamp.desc(), page.c.dag_run_id.desc(), page.c.task_id.desc(), page.c.map_index.desc()
        )
    )
    rows = session.execute(details).all()
    items = [_item(row) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    cursor = Cursor(last.dag_run_id, last.task_id, last.map_index) if last else None
    return items, cursor


def _runs_due(start: datetime, end: datetime) -> Select[Any]:
    """The ids of the DAG runs due in [start, end) (Airflow's ``idx_dag_run_run_after`` index)."""
    return select(DagRun.id).where(DagRun.run_after >= start, DagRun.run_after < end)


def _stored_value(page: Any) -> Any:
    """The ``stored_paths`` XCom of a page row, as a scalar subquery (primary-key lookup)."""
    stored = aliased(XComModel, name="stored")
    return (
        select(stored.value)
        .where(
            stored.dag_run_id == page.c.dag_run_id,
            stored.task_id == page.c.task_id,
            stored.map_index == page.c.map_index,
            stored.key == "stored_paths",
        )
        .scalar_subquery()
        .label("stored")
    )


def _item(row: Any) -> GalleryItem:
    result = row.result if isinstance(row.result, dict) else {}
    urls, stored = row.value, row.stored
    cost = result.get("cost")
    model = result.get("model") or result.get("format")
    return GalleryItem(
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        finished_at=row.timestamp,
        model=str(model) if model else None,
        cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        media=media_entries(
            [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else [],
            [p for p in stored if isinstance(p, str)] if isinstance(stored, list) else [],
            declared_types(result),
        ),
    )


def waiting_jobs(session: Session, readable: Collection[str], limit: int = WAITING_LIMIT) -> list[WaitingJob]:
    """This provider's task instances deferred right now (found by Airflow's ``ti_state`` index),
    with the job id each pushed before it deferred; oldest first."""
    job = aliased(XComModel, name="job")
    query = (
        select(
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.map_index,
            func.coalesce(TaskInstance.custom_operator_name, TaskInstance.operator).label("operator"),
            TaskInstance.start_date,
            job.value.label("job_id"),
        )
        .outerjoin(
            job,
            and_(
                job.dag_id == TaskInstance.dag_id,
                job.task_id == TaskInstance.task_id,
                job.run_id == TaskInstance.run_id,
                job.map_index == TaskInstance.map_index,
                job.key.in_(list(JOB_ID_KEYS)),
            ),
        )
        .where(
            TaskInstance.state == "deferred",
            TaskInstance.dag_id.in_(list(readable)),
            or_(
                job.key.is_not(None),
                TaskInstance.operator.in_(GENERATION_OPERATORS),
                TaskInstance.custom_operator_name.in_(GENERATION_OPERATORS),
            ),
        )
        .order_by(TaskInstance.start_date, TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.map_index)
        .limit(limit)
    )
    return [
        WaitingJob(
            row.dag_id,
            row.run_id,
            row.task_id,
            row.map_index,
            row.operator,
            None if row.job_id is None else str(row.job_id),
            row.start_date,
        )
        for row in session.execute(query)
    ]

"""Credits spent per DAG and per day, as the Clipgen page plots them, kept for a minute.

The sum covers every finished generation of the period (the ``cost`` of the result of each task
instance with a ``media_urls`` XCom), so unlike a gallery page its cost grows with the number of
generations in the period. It is computed for all DAGs at most once a minute per API server
process and filtered per user when the page is drawn: a dashboard a minute behind, in exchange
for a page that stays fast however many users open it.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.orm import Session, aliased

from clipgen_provider.ui.overview import MEDIA_KEY, same_task

#: seconds a computed spend is reused
TTL_SECONDS = 60.0


@dataclass(frozen=True)
class SpendRow:
    """Credits Clipia charged for one DAG's generations on one day (UTC)."""

    dag_id: str
    day: date
    credits: float


def _day_of(session: Session, stamp: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp column, in this database's dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(stamp)
    return cast(stamp, Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def spend_since(session: Session, since: date) -> list[SpendRow]:
    """Credits charged per DAG and per day (UTC) from ``since`` on, for every DAG.

    A generation counts on the day it finished; only runs due from the day before ``since`` are
    read (Airflow's ``idx_dag_run_run_after`` index). Clipwise reports no price and adds nothing.
    """
    media = aliased(XComModel, name="media")
    result = aliased(XComModel, name="result")
    day = _day_of(session, media.timestamp)
    start = datetime.combine(since, time.min, tzinfo=timezone.utc)
    runs = select(DagRun.id).where(DagRun.run_after >= start - timedelta(days=1))
    query = (
        select(media.dag_id, day.label("day"), func.sum(result.value["cost"].as_float()).label("credits"))
        .join(result, same_task(result, media, "return_value"))
        .where(media.key == MEDIA_KEY, media.dag_run_id.in_(runs), media.timestamp >= start)
        .group_by(media.dag_id, day)
        .order_by(day, media.dag_id)
    )
    return [
        SpendRow(row.dag_id, _as_date(row.day), float(row.credits))
        for row in session.execute(query)
        if row.credits is not None
    ]


class SpendCache:
    """:func:`spend_since` per ``since``, reused for :data:`TTL_SECONDS` (one per app)."""

    def __init__(self, ttl: float = TTL_SECONDS, now: Callable[[], float] = clock.monotonic) -> None:
        self.ttl = ttl
        self.now = now
        self._lock = threading.Lock()
        self._kept: dict[date, tuple[float, list[SpendRow]]] = {}

    def rows(self, session: Session, readable: Collection[str], since: date) -> list[SpendRow]:
        """The spend from ``since`` on, of the DAGs in ``readable`` only."""
        with self._lock:
            kept = self._kept.get(since)
            if kept is None or self.now() - kept[0] > self.ttl:
                kept = (self.now(), spend_since(session, since))
                self._kept = {
                    since: kept,
                    **{k: v for k, v in self._kept.items() if self.now() - v[0] <= self.ttl},
                }
        allowed = set(readable)
        return [row for row in kept[1] if row.dag_id in allowed]

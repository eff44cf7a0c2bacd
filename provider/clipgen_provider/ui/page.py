"""The *Clipgen* page: spend per DAG and per day, Clipia balances, jobs waiting now, the gallery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from clipgen_provider.ui.html import ENV, document
from clipgen_provider.ui.metadata import TaskInstanceKey
from clipgen_provider.ui.overview import Cursor, GalleryFilter, GalleryItem, WaitingJob
from clipgen_provider.ui.plot import colors, spend_plot
from clipgen_provider.ui.spend import SpendRow
from clipgen_provider.ui.urls import stored_file_url, task_instance_url

#: days of spend the plot shows by default, and the most it may be asked for
SPEND_DAYS = 30
MAX_SPEND_DAYS = 366


@dataclass(frozen=True)
class PageData:
    """Everything the page shows, read for one user."""

    today: date
    spend_days: int
    spend: list[SpendRow]
    connections: list[str]
    waiting: list[WaitingJob]
    dag_ids: list[str]
    where: GalleryFilter
    gallery: list[GalleryItem]
    next_cursor: Cursor | None
    per_page: int


def _key(item: GalleryItem | WaitingJob) -> TaskInstanceKey:
    return TaskInstanceKey(item.dag_id, item.run_id, item.task_id, item.map_index)


def _thumbnail(item: GalleryItem) -> tuple[str, str] | None:
    """The gallery's preview of an item: (kind, source) of its first file."""
    if not item.media:
        return None
    first = item.media[0]
    source = stored_file_url(_key(item), first.index) if first.stored_path else first.url
    return (first.kind, source) if source else None


def next_page_url(where: GalleryFilter, cursor: Cursor, spend_days: int, per_page: int) -> str:
    """The link to the gallery's next page, keeping the filters."""
    query: dict[str, str | int] = {
        "dag_id": where.dag_id or "",
        "model": where.model or "",
        "day": where.day.isoformat() if where.day else "",
        "days": spend_days,
        "per_page": per_page,
        "cursor": cursor.encode(),
    }
    return "page?" + urlencode({k: v for k, v in query.items() if v != ""}) + "#clipgen-gallery"


_BODY = ENV.get_template("page.html")


def render_page(data: PageData, airflow_root: str) -> str:
    """The page's HTML; ``airflow_root`` is where Airflow's UI is served (for task instance links)."""
    first = data.today - timedelta(days=data.spend_days - 1)
    palette = colors(sorted({row.dag_id for row in data.spend}))
    totals: dict[str, float] = {}
    for row in data.spend:
        totals[row.dag_id] = totals.get(row.dag_id, 0.0) + row.credits
    body = _BODY.render(
        data=data,
        plot=spend_plot(data.spend, first, data.today),
        palette=palette,
        totals=totals,
        thumbnail=_thumbnail,
        ti_url=lambda item: task_instance_url(airflow_root, _key(item)),
        balance_url=lambda conn_id: "balance?" + urlencode({"conn_id": conn_id}),
        next_url=next_page_url(data.where, data.next_cursor, data.spend_days, data.per_page)
        if data.next_cursor
        else None,
    )
    return document("Clipgen", body)

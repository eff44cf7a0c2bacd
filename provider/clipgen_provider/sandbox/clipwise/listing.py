"""Filters and real pagination of every list endpoint (resources, uploads, products)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query

from .catalog import find_format
from .errors import invalid_argument
from .resources import Resource

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class ListQuery:
    """Page, page size and filters of a list call."""

    page: int
    limit: int
    video_format: str | None
    #: exact-match filters on public fields (``type``, ``product_type``, ``collection``, ``file_type``)
    filters: dict[str, str]


async def list_query(
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    video_format: str | None = None,
    subtype: Annotated[str | None, Query(alias="type")] = None,
    product_type: str | None = None,
    collection: str | None = None,
    file_type: str | None = None,
) -> ListQuery:
    """Read the list query parameters (bad numbers answer 400 through the route class)."""
    given = {"type": subtype, "product_type": product_type, "collection": collection, "file_type": file_type}
    filters = {name: value for name, value in given.items() if value is not None}
    return ListQuery(page, limit, video_format, filters)


def select(items: Sequence[Resource], query: ListQuery) -> list[Resource]:
    """Keep the items passing every filter; ``video_format`` keeps only compatible assets."""
    if query.video_format is None:
        return [item for item in items if item.matches(query.filters)]
    entry = find_format(query.video_format)
    if entry is None:
        raise invalid_argument(f"unknown video_format {query.video_format!r}", parameter="video_format")
    slugs = entry.compatibility_slugs()
    return [item for item in items if item.matches(query.filters) and item.suits(slugs)]


def paginated(items: Sequence[Resource], query: ListQuery, base_url: str) -> dict[str, Any]:
    """Return ``{"items", "pagination"}`` for one page of the filtered items."""
    selected = select(items, query)
    total = len(selected)
    total_pages = math.ceil(total / query.limit)
    start = (query.page - 1) * query.limit
    return {
        "items": [item.view(base_url) for item in selected[start : start + query.limit]],
        "pagination": {
            "page": query.page,
            "limit": query.limit,
            "total": total,
            "total_pages": total_pages,
            "has_next": query.page < total_pages,
        },
    }

"""``GET formats/`` and ``GET formats/{id_or_slug}/``: the catalog of formats and tools.

Any valid token may read the catalog; it needs no scope.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends

from .auth import requires
from .catalog import find_format, list_formats
from .errors import not_found
from .routing import clipwise_router

router = clipwise_router()


@router.get("/formats/", dependencies=[Depends(requires(None))])
async def formats_list(
    kind: Literal["format", "tool"] | None = None,
    platform: Literal["clipwise", "video_company"] | None = None,
    include_inactive: bool = False,
) -> dict[str, Any]:
    """List active formats and tools, optionally by kind and platform (inactive ones on request)."""
    return {"formats": [entry.view() for entry in list_formats(kind, platform, include_inactive)]}


@router.get("/formats/{id_or_slug}/", dependencies=[Depends(requires(None))])
async def formats_retrieve(id_or_slug: str) -> dict[str, Any]:
    """Return one format by id, slug, template name, display name or alias."""
    entry = find_format(id_or_slug)
    if entry is None:
        raise not_found(f"no format {id_or_slug!r}", id_or_slug=id_or_slug)
    return {"format": entry.view()}

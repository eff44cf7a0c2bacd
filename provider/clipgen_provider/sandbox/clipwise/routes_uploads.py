"""``uploads/``: one-off input files (source videos, images, audio) of a token.

Uploads are the ``generic_uploads`` resources: retrieve and delete them under
``resources/generic_uploads/{id}/``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from .auth import ReadResources, WriteResources
from .bodies import multipart
from .listing import ListQuery, list_query, paginated
from .records import check_purpose, upload_record
from .routing import clipwise_router
from .state import clipwise_state
from .timeline import now

router = clipwise_router()
UPLOADS = "generic_uploads"


@router.post("/uploads/", status_code=201)
async def uploads_create(request: Request, account: WriteResources) -> dict[str, Any]:
    """Upload a file (multipart ``file`` + ``purpose`` image|video|audio|document|other)."""
    async with multipart(request) as body:
        check_purpose(body.fields)
        upload = await upload_record(clipwise_state(request).storage, account, body, UPLOADS, now())
    return {"upload": upload.view(str(request.base_url))}


@router.get("/uploads/")
async def uploads_list(
    request: Request, account: ReadResources, query: Annotated[ListQuery, Depends(list_query)]
) -> dict[str, Any]:
    """List one page of the visible uploads."""
    return paginated(account.items(UPLOADS), query, str(request.base_url))

"""Parsing request bodies into what handlers need, with Clipwise errors for bad input.

Bodies are read by hand rather than through FastAPI models because generation parameters are
open-ended and because upload errors must be ``invalid_upload``, not validation errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from .errors import invalid_argument, invalid_upload


async def json_object(request: Request) -> dict[str, Any]:
    """Return the JSON object body, or answer 400 ``invalid_argument``."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise invalid_argument("the request body must be a JSON object")
    return body


@dataclass(frozen=True)
class Multipart:
    """A multipart upload: the ``file`` part and every string field."""

    file: UploadFile
    fields: dict[str, str]


@asynccontextmanager
async def multipart(request: Request) -> AsyncIterator[Multipart]:
    """Parse a multipart body whose file sits in field ``file``; answer ``invalid_upload`` if absent.

    Starlette spools each file part to a temporary file past 1 MB, so large uploads never sit
    in memory; the spooled files are closed when the block exits.
    """
    try:
        form = await request.form()
    except HTTPException as exc:
        raise invalid_upload(f"the multipart body could not be read: {exc.detail}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_upload("send the file as multipart/form-data field 'file'")
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        yield Multipart(upload, fields)
    finally:
        await form.close()

"""``extract-url/``: start and poll the extraction of a usable video from a social link."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from .auth import ReadGenerations, WriteGenerations
from .bodies import json_object
from .extractions import Extraction, checked_url
from .ids import new_id
from .routing import clipwise_router
from .state import sandbox_settings
from .timeline import now

router = clipwise_router()


@router.post("/extract-url/", status_code=201)
async def extract_start(request: Request, account: WriteGenerations) -> dict[str, Any]:
    """Start a task for ``{"url"}``; direct video links answer with ``video_url`` at once."""
    url = checked_url((await json_object(request)).get("url"))
    at = now()
    task = Extraction.start(url, sandbox_settings(request), at)
    account.extractions[task.id] = task
    return task.start_view(at, str(request.base_url))


@router.get("/extract-url/{task_id}/")
async def extract_poll(request: Request, task_id: str, account: ReadGenerations) -> dict[str, Any]:
    """Return whether the task is ready and, if it succeeded, the video URL."""
    return account.extraction(task_id).poll_view(now(), str(request.base_url), new_id("req"))

"""``generations/``: create (idempotent), retrieve, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request, Response

from .auth import ReadGenerations, WriteGenerations
from .bodies import json_object
from .generations import Generation
from .params import parse_generation
from .routing import clipwise_router
from .state import sandbox_settings
from .timeline import now

router = clipwise_router()


@router.post("/generations/", status_code=201)
async def generations_create(
    request: Request,
    response: Response,
    account: WriteGenerations,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Validate and queue a job; a replayed ``Idempotency-Key`` answers the first job."""
    body = await json_object(request)
    at = now()
    base_url = str(request.base_url)
    if idempotency_key is not None:
        account.idempotency.check_key(idempotency_key)
        replayed = account.idempotency.replay(idempotency_key, body, at)
        if replayed is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return account.generation(replayed).view(at, base_url)
    job = account.add_generation(
        Generation.start(
            parse_generation(body, account.find), sandbox_settings(request), at, len(account.generations)
        )
    )
    if idempotency_key is not None:
        account.idempotency.remember(idempotency_key, body, job.id, at)
    return job.view(at, base_url)


@router.get("/generations/{generation_id}/")
async def generations_retrieve(
    request: Request, generation_id: str, account: ReadGenerations
) -> dict[str, Any]:
    """Return a job's current status, progress and outputs."""
    return {"generation": account.generation(generation_id).view(now(), str(request.base_url))}


@router.post("/generations/{generation_id}/cancel/")
async def generations_cancel(
    request: Request, generation_id: str, account: WriteGenerations
) -> dict[str, Any]:
    """Cancel a job that has not started; otherwise ``409 unsupported_cancellation``."""
    at = now()
    job = account.generation(generation_id)
    job.cancel(at)
    return {"generation": job.view(at, str(request.base_url))}

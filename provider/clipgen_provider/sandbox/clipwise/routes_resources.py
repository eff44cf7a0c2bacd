"""``resource-types/`` and ``resources/{type}/…``: list, retrieve, upload, generate, delete.

Catalog resources are shared and read-only: deleting one answers ``403 permission_denied``;
another token's resources answer ``404`` as if they did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from .auth import ReadResources, WriteResources
from .bodies import json_object, multipart
from .errors import invalid_argument, not_found
from .listing import ListQuery, list_query, paginated
from .records import generated_asset, upload_record
from .routing import clipwise_router
from .seed import RESOURCE_TYPES, ResourceType
from .state import clipwise_state
from .timeline import now

router = clipwise_router()


def _resource_type(name: str) -> ResourceType:
    """Return the resource type named in the path, or answer 404."""
    entry = RESOURCE_TYPES.get(name)
    if entry is None:
        raise not_found(f"no resource type {name!r}; see GET resource-types/", known=sorted(RESOURCE_TYPES))
    return entry


@router.get("/resource-types/")
async def resource_types(account: ReadResources) -> dict[str, Any]:
    """List the resource types and what each supports."""
    return {"resource_types": [entry.view() for entry in RESOURCE_TYPES.values()]}


@router.get("/resources/{resource_type}/")
async def resources_list(
    request: Request,
    resource_type: str,
    account: ReadResources,
    query: Annotated[ListQuery, Depends(list_query)],
) -> dict[str, Any]:
    """List one page of the visible resources of a type, filtered."""
    entry = _resource_type(resource_type)
    return paginated(account.items(entry.name), query, str(request.base_url))


@router.get("/resources/{resource_type}/{resource_id}/")
async def resources_retrieve(
    request: Request, resource_type: str, resource_id: str, account: ReadResources
) -> dict[str, Any]:
    """Return one visible resource."""
    entry = _resource_type(resource_type)
    return {"resource": account.get(entry.name, resource_id).view(str(request.base_url))}


@router.post("/resources/{resource_type}/upload/", status_code=201)
async def resources_upload(request: Request, resource_type: str, account: WriteResources) -> dict[str, Any]:
    """Upload a file as a resource (multipart ``file`` + string metadata); voices clone this way."""
    entry = _resource_type(resource_type)
    if not entry.uploadable:
        raise invalid_argument(f"{entry.name} cannot be uploaded", resource_type=entry.name)
    async with multipart(request) as body:
        resource = await upload_record(clipwise_state(request).storage, account, body, entry.name, now())
    return {"resource": resource.view(str(request.base_url))}


@router.post("/resources/{resource_type}/generate/", status_code=201)
async def resources_generate(request: Request, resource_type: str, account: WriteResources) -> dict[str, Any]:
    """Generate an asset from a prompt (only ``avatars`` and ``background_images``)."""
    entry = _resource_type(resource_type)
    if not entry.generatable:
        generatable = sorted(name for name, each in RESOURCE_TYPES.items() if each.generatable)
        raise invalid_argument(
            f"{entry.name} cannot be generated", resource_type=entry.name, allowed=generatable
        )
    resource = generated_asset(account, entry.name, await json_object(request), now())
    return {"resource": resource.view(str(request.base_url))}


@router.delete("/resources/{resource_type}/{resource_id}/")
async def resources_delete(
    request: Request, resource_type: str, resource_id: str, account: WriteResources
) -> dict[str, Any]:
    """Delete one of the token's own resources (and its stored file)."""
    entry = _resource_type(resource_type)
    removed = account.remove(entry.name, resource_id)
    clipwise_state(request).storage.discard(removed.path)
    return {"success": True}

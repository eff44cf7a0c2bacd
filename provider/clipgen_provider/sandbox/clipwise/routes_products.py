"""``products/``: list, create, update and delete the token's product records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from .auth import ReadResources, WriteResources
from .bodies import json_object
from .listing import ListQuery, list_query, paginated
from .products import create_product, update_product
from .routing import clipwise_router
from .timeline import now

router = clipwise_router()
PRODUCTS = "products"


@router.get("/products/")
async def products_list(
    request: Request, account: ReadResources, query: Annotated[ListQuery, Depends(list_query)]
) -> dict[str, Any]:
    """List one page of the visible products (shared demo products first)."""
    return paginated(account.items(PRODUCTS), query, str(request.base_url))


@router.post("/products/", status_code=201)
async def products_create(request: Request, account: WriteResources) -> dict[str, Any]:
    """Create a product from ``{name, image_ids, url, product_type, description, ...}``."""
    product = create_product(account, await json_object(request), now())
    return {"product": product.view(str(request.base_url))}


@router.patch("/products/{product_id}/")
async def products_update(request: Request, product_id: str, account: WriteResources) -> dict[str, Any]:
    """Change some fields of one of the token's products."""
    product = update_product(account, product_id, await json_object(request), now())
    return {"product": product.view(str(request.base_url))}


@router.delete("/products/{product_id}/")
async def products_delete(product_id: str, account: WriteResources) -> dict[str, Any]:
    """Delete one of the token's products."""
    account.remove(PRODUCTS, product_id)
    return {"success": True}
